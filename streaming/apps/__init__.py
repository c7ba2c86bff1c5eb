"""Signal app workers (issue #6): each wires a pure app to the runtime, like the processor."""
