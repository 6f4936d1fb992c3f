"""Place names in a message (德清, 柯桥区, 湖州市) to a region path such as 浙江省湖州市德清县."""

from __future__ import annotations

import re
from functools import cache

from bot.text.lexicon import Region, regions


@cache
def region_index() -> tuple[re.Pattern[str], dict[str, Region]]:
    """One pattern over every place name, and the region each name points to."""
    by_name: dict[str, Region] = {}
    for r in regions():
        for name in r.names:
            old = by_name.get(name)
            if old is None or r.level > old.level:
                by_name[name] = r
    names = sorted(by_name, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in names)), by_name


def find_region(norm: str) -> str | None:
    """The most specific region named in the text (county over city over province), first wins."""
    pattern, by_name = region_index()
    best: Region | None = None
    for m in pattern.finditer(norm):
        r = by_name[m.group()]
        if best is None or r.level > best.level:
            best = r
            if r.level == 2:
                break
    return best.path if best else None
