"""readerstudy: multi-reader, multi-case reader studies of acute ischemic stroke on NCCT."""

__version__ = "0.1.0"
