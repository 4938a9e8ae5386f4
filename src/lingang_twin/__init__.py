"""Lingang Twin: the digital twin and operations platform of the Lingang IICZ (临港国际创新协同区)."""

__version__ = "0.1.0"
