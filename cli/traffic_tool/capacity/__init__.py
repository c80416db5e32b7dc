"""The capacity simulator: a discrete-event model of the fleet that drives `jobcore.scaling`'s policy."""
