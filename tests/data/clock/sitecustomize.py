"""Moves this process's clock years ahead: loaded by the determinism test only.

Whatever reads "now" (datetime.now, datetime.utcnow, date.today, time.time)
sees FEEDSVC_TEST_CLOCK_SHIFT seconds later than the real clock, so a build that
leaks the current time into its output would differ from one run without it.
"""

import datetime as _datetime
import os
import time as _time

_SHIFT = float(os.environ.get("FEEDSVC_TEST_CLOCK_SHIFT", "0"))
_real_time = _time.time
_real_time_ns = _time.time_ns


class _RealInstances(type):
    """Dates made by C code (``datetime.date()``, ``astimezone``) are of the real classes:
    they still pass ``isinstance`` against the stand-ins, as libraries (Babel) expect."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.__mro__[1])


class _ShiftedDatetime(_datetime.datetime, metaclass=_RealInstances):
    @classmethod
    def now(cls, tz=None):
        return super().now(tz) + _datetime.timedelta(seconds=_SHIFT)

    @classmethod
    def utcnow(cls):
        return super().utcnow() + _datetime.timedelta(seconds=_SHIFT)

    @classmethod
    def today(cls):
        return cls.now()


class _ShiftedDate(_datetime.date, metaclass=_RealInstances):
    @classmethod
    def today(cls):
        return _ShiftedDatetime.now().date()


_datetime.datetime = _ShiftedDatetime
_datetime.date = _ShiftedDate
_time.time = lambda: _real_time() + _SHIFT
_time.time_ns = lambda: _real_time_ns() + int(_SHIFT * 1e9)
