"""Web Vitals budgets (`expect.web_vitals`): which measured metric is over its budget, in words."""

from __future__ import annotations

from jobcore.analytics_models import WebVitals, WebVitalsBudget

# INP exists only once the page was interacted with: a missing INP is not a failure; a missing
# LCP, FCP or TTFB under a budget is (the budget cannot be shown to hold).
_OPTIONAL = frozenset({"inp_ms"})


def over_budget(budget: WebVitalsBudget, vitals: WebVitals | None) -> list[str]:
    problems: list[str] = []
    measured = vitals.model_dump() if vitals is not None else {}
    for name, limit in budget.model_dump().items():
        if limit is None:
            continue
        value = measured.get(name)
        if value is None:
            if name not in _OPTIONAL:
                problems.append(f"{name} was not measured (budget {limit})")
        elif value > limit:
            problems.append(f"{name} {value} over budget {limit}")
    return problems
