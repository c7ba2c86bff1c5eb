"""Dagster assets: the platform's batch and control work (provisioning, views, datasets)."""
