"""Finding personal data in one line of transcript text: character spans and their kind.

Speech recognisers write numbers either as digits ("4111 1111 …") or as words ("four one one one …"),
so numbers are read from *tokens*: a digit group, or a digit word (zero/oh … nine, with "double"/"triple"
repeating the next one). A run of such tokens, with nothing but spaces, commas, dashes or full stops
between them, is one spoken number. Such a run is

- a card when 13–19 of its consecutive digits pass the Luhn check, or when it has 12 or more digits just
  after a word like "card" (recognisers drop digits, which breaks the check);
- a social security number when it is written NNN-NN-NNNN, or has 8 to 10 digits just after "social
  security" / "SSN";
- a phone number when phonenumbers calls it valid (for the default region, or international with a
  leading + or 00), or when it has 7 to 12 digits just after "phone", "reach me", "my number"….

Emails (written, "name at example dot com", or whatever follows "my email is" up to a domain) and IBANs
(mod-97 checked) are patterns; person names are the ones the conversation's metadata gives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from heard_local.domain import RedactKind

DIGIT_WORDS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
               "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_REPEAT = {"double": 2, "triple": 3}
_TOKEN = re.compile(r"\+?[A-Za-z]+|\+?\d+")
_JOINERS = re.compile(r"^[\s,.\-/()]*$")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_EMAIL_SPOKEN = re.compile(r"\b[\w.+-]+ at [\w-]+ dot (?:com|org|net|edu|gov|io|co(?:\.uk)?|de|fr)\b", re.I)
# After "my email is", what a recogniser makes of a spoken address ("jo and example.com").
_EMAIL_CUED = re.compile(r"\be-?mail(?: address)? is ((?:[\w.+-]+ ){0,3}?[\w.+-]*(?:\.| dot )"
                         r"(?:com|org|net|edu|gov|io|co\.uk|de|fr))\b", re.I)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b")
_SSN_WRITTEN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_SSN_CUE = re.compile(r"social security|\bssn\b|\bsocial\b", re.I)
_CARD_CUE = re.compile(r"\b(?:card|visa|master ?card|amex|american express|credit|debit)\b", re.I)
_PHONE_CUE = re.compile(r"\b(?:phone|mobile|cell|reach me|call me|text me|my number)\b", re.I)
# A recogniser drops or doubles a digit now and then, which breaks the Luhn check: after a word that
# announces a card, a run this long is taken as one anyway.
_CUED_CARD_DIGITS = 12


@dataclass(frozen=True)
class Found:
    kind: RedactKind
    start: int  # character offsets in the text
    end: int


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    digits: str  # what it contributes to a number ("" for "double", which only repeats the next)
    repeat: int = 1


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = int(ch)
        if i % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(text: str) -> bool:
    compact = text.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _number_tokens(text: str) -> list[_Token]:
    tokens = []
    for match in _TOKEN.finditer(text):
        word = match.group().lstrip("+").lower()
        if word.isdigit():
            tokens.append(_Token(match.start(), match.end(), word))
        elif word in DIGIT_WORDS and (word != "o" or tokens):
            tokens.append(_Token(match.start(), match.end(), DIGIT_WORDS[word]))
        elif word in _REPEAT:
            tokens.append(_Token(match.start(), match.end(), "", repeat=_REPEAT[word]))
        else:
            tokens.append(_Token(match.start(), match.end(), "", repeat=0))  # a word that ends a number
    return tokens


def number_runs(text: str) -> list[tuple[list[tuple[int, int]], str]]:
    """Spoken or written numbers: for each, the character span of each digit and the digits."""
    runs: list[tuple[list[tuple[int, int]], str]] = []
    spans: list[tuple[int, int]] = []
    digits = ""
    pending_repeat = 1
    last_end = -1
    for token in _number_tokens(text):
        joined = last_end >= 0 and _JOINERS.match(text[last_end:token.start]) is not None
        if token.repeat == 0 or (not joined and spans):
            if digits:
                runs.append((spans, digits))
            spans, digits, pending_repeat, last_end = [], "", 1, -1
            if token.repeat == 0:
                continue
        if token.digits == "":
            pending_repeat = token.repeat
            last_end = token.end
            continue
        count = pending_repeat if len(token.digits) == 1 else 1
        digits += token.digits * count
        spans += [(token.start, token.end)] * (len(token.digits) * count)
        pending_repeat, last_end = 1, token.end
    if digits:
        runs.append((spans, digits))
    return runs


def _cards(spans: list[tuple[int, int]], digits: str) -> Iterable[Found]:
    """The longest Luhn-valid windows of 13–19 digits (a run may hold more than the card)."""
    i = 0
    while i <= len(digits) - 13:
        for length in range(min(19, len(digits) - i), 12, -1):
            window = digits[i:i + length]
            if window[0] != "0" and luhn_valid(window):
                yield Found(RedactKind.CARD, spans[i][0], spans[i + length - 1][1])
                i += length
                break
        else:
            i += 1


def _is_phone(digits: str, raw: str, region: str) -> bool:
    if not 7 <= len(digits) <= 15:
        return False
    candidates = [digits]
    if raw.lstrip().startswith("+") or digits.startswith("00"):
        candidates = ["+" + digits.removeprefix("00")]
    for candidate in candidates:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def _ibans(text: str) -> Iterable[Found]:
    """IBANs: the longest prefix of each candidate that passes mod-97 (a word may follow the number)."""
    for match in _IBAN.finditer(text.upper()):
        candidate = match.group()
        for end in range(len(candidate), 14, -1):
            if candidate[end - 1] != " " and iban_valid(candidate[:end]):
                yield Found(RedactKind.IBAN, match.start(), match.start() + end)
                break


def find_spans(text: str, kinds: Iterable[RedactKind], *, names: Iterable[str] = (),
               region: str = "US") -> list[Found]:
    """Non-overlapping spans of ``kinds`` in ``text``, in order (an earlier, longer one wins)."""
    wanted = set(kinds)
    found: list[Found] = []
    if RedactKind.EMAIL in wanted:
        found += [Found(RedactKind.EMAIL, m.start(), m.end()) for m in _EMAIL.finditer(text)]
        found += [Found(RedactKind.EMAIL, m.start(), m.end()) for m in _EMAIL_SPOKEN.finditer(text)]
        found += [Found(RedactKind.EMAIL, m.start(1), m.end(1)) for m in _EMAIL_CUED.finditer(text)]
    if RedactKind.IBAN in wanted:
        found += list(_ibans(text))
    if RedactKind.SSN in wanted:
        found += [Found(RedactKind.SSN, m.start(), m.end()) for m in _SSN_WRITTEN.finditer(text)]
    for spans, digits in number_runs(text):
        start, end = spans[0][0], spans[-1][1]
        if RedactKind.CARD in wanted:
            cards = list(_cards(spans, digits))
            if not cards and len(digits) >= _CUED_CARD_DIGITS and _CARD_CUE.search(text[max(0, start - 80):start]):
                cards = [Found(RedactKind.CARD, start, end)]
            if cards:
                found += cards
                continue
        if (RedactKind.SSN in wanted and abs(len(digits) - 9) <= 1  # a digit dropped or added by the recogniser
                and _SSN_CUE.search(text[max(0, start - 60):start])):
            found.append(Found(RedactKind.SSN, start, end))
        elif RedactKind.PHONE in wanted and (
                _is_phone(digits, text[max(0, start - 1):end], region)
                or (7 <= len(digits) <= 12 and _PHONE_CUE.search(text[max(0, start - 60):start]))):
            opened = start > 0 and text[start - 1] in "+("
            found.append(Found(RedactKind.PHONE, start - 1 if opened else start, end))
    if RedactKind.PERSON in wanted:
        for name in names:
            for part in {name.strip(), *name.split()}:
                if len(part) >= 2:
                    found += [Found(RedactKind.PERSON, m.start(), m.end())
                              for m in re.finditer(rf"(?<!\w){re.escape(part)}(?!\w)", text, re.IGNORECASE)]
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Found] = []
    for span in found:
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept
