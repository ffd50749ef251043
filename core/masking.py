"""Masking phone and ID numbers in text the bot posts to a group chat.

Residents (and care centres relaying for elders) write phone numbers into requests; the
ticket keeps them for the people who handle it, but a group of hundreds never sees them.
Emergency numbers (110, 119, 120, 96xxx hotlines) are short and never match.
"""

from __future__ import annotations

import re

_D = "[0-9０-９]"
_SEP = r"[ \-－]?"
# Chinese resident ID: 17 digits and a digit or X. Keep the first 4 and the last 4.
_ID = re.compile(rf"(?<![0-9０-９A-Za-z])({_D}{{4}})({_D}{{10}})({_D}{{3}}[0-9０-９XxＸｘ])(?![0-9０-９A-Za-z])")
# Mainland mobile, optionally +86 and spaced/dashed as 3-4-4. Keep the first 3 and the last 4.
_MOBILE = re.compile(
    rf"(?<![0-9０-９])((?:\+?86{_SEP})?[1１][3-9３-９]{_D}){_SEP}({_D}{{4}}){_SEP}({_D}{{4}})(?![0-9０-９])"
)
# Landline with area code: 010-12345678, 0571-8765432. Keep the area code and the last 2.
_LANDLINE = re.compile(rf"(?<![0-9０-９])(0{_D}{{2,3}})[\-－]({_D}{{5,6}})({_D}{{2}})(?![0-9０-９])")


def mask(text: str) -> str:
    """``13800138000`` → ``138****8000``; ID ``110101199003071234`` → ``1101**********1234``."""
    text = _ID.sub(lambda m: m.group(1) + "*" * 10 + m.group(3), text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-{'*' * len(m.group(2))}{m.group(3)}", text)


def contains_private_number(text: str) -> bool:
    """True when ``mask`` would change the text."""
    return mask(text) != text
