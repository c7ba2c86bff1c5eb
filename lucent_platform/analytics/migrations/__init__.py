"""The schema's migrations: ``NNNN_name.sql`` files, applied in order by ``analytics.migrate``.

Never edit a migration once it has been applied anywhere: ``migrate`` refuses to run when an
applied migration's checksum no longer matches its file. Change the schema with a new file.
"""
