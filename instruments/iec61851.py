"""IEC 61851-1 control-pilot facts, shared by EV emulator drivers, the runner and the twin:
offered current <-> PWM duty, and the PP cable rating.

    duty_for_current(16)    # 26.6 (%), rounded down to 0.1 % so the EV is never offered more
    current_for_duty(26.6)  # 15.96 A
    cable_rating_a(220)     # 32 A

Duty -> current (charger offers, EV reads): 8-10 % -> 6 A; 10-85 % -> 0.6 x D; 85-96 % -> (D - 64) x 2.5;
96-97 % -> 80 A; 3-7 % asks for digital communication; anything else means "no charging".
"""

from __future__ import annotations

import math

MIN_CURRENT_A = 6.0
MAX_CURRENT_A = 80.0
PWM_FREQUENCY_HZ = 1000.0
# PP resistor (ohm) -> cable current rating (A); resistors within 10 % are read as the nominal value.
CABLE_RATINGS: dict[float, float] = {1500.0: 13.0, 680.0: 20.0, 220.0: 32.0, 100.0: 63.0}


def duty_for_current(amps: float) -> float | None:
    """PWM duty (%) that offers `amps`; None when below the 6 A minimum (no PWM: charging not allowed)."""
    if amps < MIN_CURRENT_A:
        return None
    amps = min(amps, MAX_CURRENT_A)
    duty = amps / 0.6 if amps <= 51.0 else amps / 2.5 + 64.0
    # Round down to the 0.1 % a pilot generator resolves, with a hair of slack for float noise.
    return math.floor(duty * 10.0 + 1e-6) / 10.0


def current_for_duty(duty: float | None) -> float | None:
    """Current (A) an EV may draw at `duty` %; None for no charging or digital communication."""
    if duty is None:
        return None
    if 8.0 <= duty < 10.0:
        return 6.0
    if 10.0 <= duty <= 85.0:
        return 0.6 * duty
    if 85.0 < duty <= 96.0:
        return (duty - 64.0) * 2.5
    if 96.0 < duty <= 97.0:
        return 80.0
    return None


def cable_rating_a(ohms: float | None) -> float | None:
    """Current rating of the cable whose PP resistor is `ohms`; None for no PP (tethered cable) or unknown."""
    if ohms is None:
        return None
    for nominal, amps in CABLE_RATINGS.items():
        if abs(ohms - nominal) <= 0.1 * nominal:
            return amps
    return None
