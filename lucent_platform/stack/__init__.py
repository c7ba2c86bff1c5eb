"""The embedded local stack: real services started as child processes on loopback ports."""

from lucent_platform.stack.errors import StackError

__all__ = ["StackError"]
