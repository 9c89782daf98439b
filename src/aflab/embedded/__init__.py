"""aflab.embedded: Gödel–Löb provability logic, modal agents, tournaments, embedded decision problems.

Modules: ``formula`` (interned GL formulas, simplify), ``parse`` (text syntax), ``tableau`` (GL
validity with countermodels), ``kripke`` (models, countermodel checker, linear frame), ``fixpoint``
(de Jongh–Sambin), ``solver`` (modal systems: linear frame + tableau certificate), ``agents``
(modal agents, agent files, modal combat), ``tournament`` (round robin, replicator dynamics),
``problems`` (5-and-10, Newcomb, twin PD, transparent Newcomb, XOR blackmail, Parfit, PD against
the classic bots; naive agent, modal UDT, chicken rule).
See docs/embedded.md.
"""

from aflab.embedded.formula import Formula, to_text
from aflab.embedded.parse import FormulaSyntaxError, parse
from aflab.embedded.tableau import decide, is_valid

__all__ = ["Formula", "FormulaSyntaxError", "decide", "is_valid", "parse", "to_text"]
