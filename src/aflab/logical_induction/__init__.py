"""Logical induction (Garrabrant, Benson-Tilsen, Critch, Soares, Taylor 2016): a fast Garrabrant inductor.

Sentences (:mod:`.sentences`), PC(D_n) by incremental SAT (:mod:`.worlds`), deductive processes and
scenarios (:mod:`.deduction`), trading expressions (:mod:`.expressions`), traders and the program
enumeration (:mod:`.traders`), Budgeter / TradingFirm / MarketMaker (:mod:`.market`), the day loop
and ledger (:mod:`.inductor`), the Kelly market (:mod:`.kelly`). See docs/logical_induction.md.
"""

from aflab.logical_induction.sentences import Sentence, SentenceParseError, atom, parse, to_text

__all__ = ["Sentence", "SentenceParseError", "atom", "parse", "to_text"]
