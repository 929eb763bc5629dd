"""Geometry helpers."""

import math


class Point:
    """A point in the plane."""

    def __init__(self, x, y):
        self.x = x
        self.y = y

    def distance(self, other):
        return math.hypot(self.x - other.x, self.y - other.y)

    def _private(self):
        return None


class _Hidden:
    def visible_but_private(self):
        pass


@staticmethod
def area(radius):
    # A comment before the body.
    return math.pi * radius**2


def documented():
    """Already documented."""
    return 1


def _helper():
    return 2
