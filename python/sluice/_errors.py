"""The package's one exception root."""


class SluiceError(ValueError):
    """A bad argument, named the way sluice names it ("headers: expected ..."),
    or an engine that cannot do what was asked."""
