"""Identifiers that look real: names, NRIC, mobile phone and e-mail of people screened in Singapore.

Everything here is fake but plausible, so that the pipeline's handling of identifier fields
(dropped on read, never stored) is tested on values that look like the real thing:
- names from Chinese, Malay, Indian and Western pools, in the proportions of a Singapore clinic;
- NRIC numbers `S`/`T` + 7 digits + the check letter of the real checksum (the first two digits
  are the birth year for people born in Singapore, as on real cards);
- mobile numbers `9123 4567` or `+65 8123 4567`;
- e-mail addresses made from the name.
"""

from __future__ import annotations

import re

import numpy as np

# Share of each name pool among the people screened.
ETHNIC_MIX = {"chinese": 0.72, "malay": 0.11, "indian": 0.10, "western": 0.07}

# First names by pool and sex (1 = male, 2 = female); last names by pool.
FIRST_NAMES = {
    ("chinese", 1): [
        "Wei Ming",
        "Jun Jie",
        "Zhi Hao",
        "Kai Xiang",
        "Jia Wei",
        "Yong Sheng",
        "Wei Jie",
        "Chee Keong",
        "Boon Huat",
        "Zheng Yang",
        "Jian Hong",
        "Kok Wai",
        "Marcus",
        "Darren",
        "Kelvin",
        "Benjamin",
        "Ryan",
        "Jonathan",
        "Eugene",
        "Desmond",
    ],
    ("chinese", 2): [
        "Jia Hui",
        "Xin Yi",
        "Hui Min",
        "Li Ting",
        "Shu Fen",
        "Pei Shan",
        "Mei Ling",
        "Yu Xuan",
        "Wen Qi",
        "Siew Lan",
        "Hui Ling",
        "Jasmine",
        "Michelle",
        "Rachel",
        "Cheryl",
        "Vanessa",
        "Joanne",
        "Grace",
        "Sharon",
        "Felicia",
    ],
    ("malay", 1): [
        "Muhammad Hafiz",
        "Ahmad Faizal",
        "Muhammad Irfan",
        "Mohamed Rizal",
        "Hairul",
        "Syafiq",
        "Khairul Anwar",
        "Azman",
        "Firdaus",
        "Muhammad Danial",
        "Iskandar",
        "Zulkifli",
    ],
    ("malay", 2): [
        "Nur Aisyah",
        "Siti Nurhaliza",
        "Nurul Huda",
        "Nur Syafiqah",
        "Farah",
        "Aishah",
        "Siti Aminah",
        "Nadia",
        "Liyana",
        "Nur Atiqah",
        "Zarina",
        "Hidayah",
    ],
    ("indian", 1): [
        "Arjun",
        "Karthik",
        "Suresh",
        "Rajesh",
        "Vikram",
        "Prakash",
        "Ganesh",
        "Harish",
        "Ashwin",
        "Gurpreet",
        "Manoj",
        "Dinesh",
    ],
    ("indian", 2): [
        "Priya",
        "Divya",
        "Kavitha",
        "Anitha",
        "Deepa",
        "Lakshmi",
        "Shalini",
        "Meena",
        "Harpreet",
        "Nisha",
        "Revathi",
        "Sangeetha",
    ],
    ("western", 1): [
        "James",
        "Daniel",
        "Thomas",
        "Matthew",
        "Oliver",
        "Lucas",
        "Patrick",
        "Sebastian",
        "Andrew",
        "Nicholas",
    ],
    ("western", 2): [
        "Emily",
        "Sarah",
        "Charlotte",
        "Hannah",
        "Sophie",
        "Claire",
        "Natalie",
        "Laura",
        "Olivia",
        "Jessica",
    ],
}
LAST_NAMES = {
    "chinese": [
        "Tan",
        "Lim",
        "Lee",
        "Ng",
        "Ong",
        "Wong",
        "Goh",
        "Chua",
        "Chan",
        "Koh",
        "Teo",
        "Ang",
        "Yeo",
        "Tay",
        "Ho",
        "Low",
        "Toh",
        "Sim",
        "Chong",
        "Chia",
        "Seah",
        "Foo",
        "Lau",
        "Leong",
        "Yap",
        "Quek",
        "Heng",
        "Loh",
    ],
    "malay": [
        "bin Abdullah",
        "bin Ismail",
        "bin Rahman",
        "bin Hassan",
        "bin Osman",
        "bin Yusof",
        "binte Ahmad",
        "binte Salleh",
        "binte Ibrahim",
        "binte Jaafar",
        "binte Kassim",
    ],
    "indian": [
        "Rajendran",
        "Kumar",
        "Pillai",
        "Nair",
        "Menon",
        "Singh",
        "Krishnan",
        "Subramaniam",
        "Ramasamy",
        "Naidu",
        "Gill",
        "Raj",
    ],
    "western": [
        "Smith",
        "Brown",
        "Williams",
        "O'Brien",
        "Taylor",
        "Wilson",
        "De Souza",
        "Pereira",
        "Fernandez",
        "Clarke",
        "Muller",
        "Martin",
    ],
}
EMAIL_DOMAINS = ["gmail.com", "hotmail.com", "yahoo.com.sg", "singnet.com.sg", "outlook.com"]
EMAIL_DOMAIN_P = [0.5, 0.17, 0.15, 0.08, 0.10]

PHONE_WITH_COUNTRY_CODE = 0.3
"""Share of phone numbers written `+65 8123 4567` rather than `8123 4567`."""

NRIC_BIRTH_YEAR_SHARE = 0.85
"""Share of NRICs issued at birth in Singapore (digits start with the birth year)."""

NRIC_WEIGHTS = np.array([2, 7, 6, 5, 4, 3, 2])
NRIC_LETTERS_ST = "JZIHGFEDCBA"
NRIC_LETTERS_FG = "XWUTRQPNMLK"


def nric_check_letter(prefix: str, digits: str) -> str:
    """The check letter of an NRIC/FIN: weighted digit sum (+4 for T/G) mod 11, looked up."""
    total = int(np.dot(NRIC_WEIGHTS, [int(c) for c in digits]))
    if prefix in "TG":
        total += 4
    letters = NRIC_LETTERS_ST if prefix in "ST" else NRIC_LETTERS_FG
    return letters[total % 11]


def nric_valid(nric: str) -> bool:
    """Whether a string is a well-formed NRIC/FIN with the right check letter."""
    if not re.fullmatch(r"[STFG]\d{7}[A-Z]", nric or ""):
        return False
    return nric_check_letter(nric[0], nric[1:8]) == nric[8]


def nrics(rng: np.random.Generator, birth_years: np.ndarray) -> np.ndarray:
    """One NRIC per person: `S` if born before 2000, `T` from 2000."""
    n = len(birth_years)
    digits = rng.integers(0, 10, size=(n, 7))
    at_birth = rng.random(n) < NRIC_BIRTH_YEAR_SHARE
    yy = np.asarray(birth_years) % 100
    digits[at_birth, 0] = yy[at_birth] // 10
    digits[at_birth, 1] = yy[at_birth] % 10
    prefix = np.where(np.asarray(birth_years) >= 2000, "T", "S")
    sums = digits @ NRIC_WEIGHTS + np.where(prefix == "T", 4, 0)
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = prefix[i] + "".join(map(str, digits[i])) + NRIC_LETTERS_ST[sums[i] % 11]
    return out


def names(rng: np.random.Generator, sex: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(first names, last names, pool of each person) for people of the given sex."""
    n = len(sex)
    pools = list(ETHNIC_MIX)
    pool = np.asarray(pools, dtype=object)[rng.choice(len(pools), size=n, p=list(ETHNIC_MIX.values()))]
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    u_first, u_last = rng.random(n), rng.random(n)
    for i in range(n):
        firsts = FIRST_NAMES[(pool[i], int(sex[i]))]
        lasts = LAST_NAMES[pool[i]]
        first[i] = firsts[int(u_first[i] * len(firsts))]
        last[i] = lasts[int(u_last[i] * len(lasts))]
    return first, last, pool


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """Singapore mobile numbers, starting 8 or 9."""
    lead = rng.choice([8, 9], size=n)
    rest = rng.integers(0, 10_000_000, size=n)
    plus = rng.random(n) < PHONE_WITH_COUNTRY_CODE
    out = np.empty(n, dtype=object)
    for i in range(n):
        number = f"{lead[i]}{rest[i]:07d}"
        local = f"{number[:4]} {number[4:]}"
        out[i] = f"+65 {local}" if plus[i] else local
    return out


def emails(rng: np.random.Generator, first: np.ndarray, last: np.ndarray, birth_years: np.ndarray) -> np.ndarray:
    """E-mail addresses made from the name, sometimes with the birth year's last two digits."""
    n = len(first)
    domains = rng.choice(len(EMAIL_DOMAINS), size=n, p=EMAIL_DOMAIN_P)
    style = rng.integers(0, 4, size=n)
    out = np.empty(n, dtype=object)
    for i in range(n):
        f = _email_part(first[i])
        surname = _email_part(re.sub(r"^(bin|binte|s/o|d/o) ", "", last[i]))
        yy = f"{birth_years[i] % 100:02d}"
        local = (f"{f}.{surname}", f"{f}{surname}{yy}", f"{f[0]}{surname}", f"{surname}.{f}")[style[i]]
        out[i] = f"{local}@{EMAIL_DOMAINS[domains[i]]}"
    return out


def _email_part(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())
