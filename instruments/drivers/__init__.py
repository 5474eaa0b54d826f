"""Built-in drivers; importing this package registers them."""

from instruments import ems_modbus
from instruments.drivers import (
    abcd_ev,
    chargespec_ev,
    chargespec_reader,
    generic_scpi,
    hioki_pw3390,
    yokogawa_wt300,
    yokogawa_wt1800,
    zes_lmg600,
)

__all__ = [
    "abcd_ev",
    "chargespec_ev",
    "chargespec_reader",
    "ems_modbus",
    "generic_scpi",
    "hioki_pw3390",
    "yokogawa_wt300",
    "yokogawa_wt1800",
    "zes_lmg600",
]
