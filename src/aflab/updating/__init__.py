"""aflab.updating: radical probabilism -- rational updates that are not Bayesian conditioning.

Modules: :mod:`.kinematics` (Jeffrey updates, Field's Bayes-factor updates, virtual evidence, rigidity, the
Diaconis-Zabell commutation condition; exact rational arithmetic with Fractions), :mod:`.merging` (two
agents under hard Jeffrey vs soft Field shifts), :mod:`.dynamics` (predictable updates, the bettor who
exploits them, the martingale-residual estimator), :mod:`.li_prices` (the logical-induction price table,
read from Parquet), :mod:`.experiments` / :mod:`.claims` / :mod:`.plots`, :mod:`.cli`. See
``docs/updating.md``.
"""
