#!/usr/bin/env python3
"""Writes libphonenumber-tr.txt: how libphonenumber's current metadata classifies every
Turkish national number, one line per run of six-digit prefixes of the same kind.

İYS checks phone numbers with libphonenumber. The Python port `phonenumbers` follows Google's
metadata within days of each release, so the file is made from it:

    python3 -m venv /tmp/phonenumbers && /tmp/phonenumbers/bin/pip install phonenumbers
    /tmp/phonenumbers/bin/python crates/consent-core/testdata/libphonenumber-tr.py

The tests read only the file it writes, never the network.
"""

import pathlib

import phonenumbers
from phonenumbers import PhoneNumberType

KINDS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed-line",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.PERSONAL_NUMBER: "personal-number",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed-line-or-mobile",
}

# Turkey's ranges go down to six digits at most; every number is the prefix and 1234.
TAIL = "1234"


def kind(national):
    number = phonenumbers.parse("+90" + national)
    if not phonenumbers.is_valid_number(number):
        return "invalid"
    return KINDS.get(phonenumbers.number_type(number), "other")


def main():
    runs = []
    for prefix in range(100_000, 1_000_000):
        found = kind(f"{prefix}{TAIL}")
        if runs and runs[-1][2] == found and runs[-1][1] == prefix - 1:
            runs[-1][1] = prefix
        else:
            runs.append([prefix, prefix, found])
    lines = [
        f"# How libphonenumber {phonenumbers.__version__} (Python phonenumbers) classifies the",
        f"# ten-digit Turkish national number <prefix>{TAIL}, for every six-digit prefix.",
        "# Written by libphonenumber-tr.py beside this file; columns: first prefix, last prefix, kind.",
    ]
    lines += [f"{first} {last} {found}" for first, last, found in runs]
    path = pathlib.Path(__file__).with_name("libphonenumber-tr.txt")
    path.write_text("\n".join(lines) + "\n")
    print(f"{path}: {len(runs)} runs")


if __name__ == "__main__":
    main()
