"""The modal agents language: parser errors with file:line:column, the reference's dialect, the plays the
papers state, N-action agents, and the CLI (``aflab embedded run``)."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from aflab.embedded.cli import app
from aflab.embedded.language import ModalFileError, parse_file
from aflab.embedded.modalfile import reference_lines, run_file, run_text
from aflab.embedded.programs import ModalRunError

DATA = Path(__file__).parent / "data"
runner = CliRunner()

# Stated in the papers: FairBot-FairBot and PrudentBot-FairBot cooperate, FairBot defects against
# DefectBot, PrudentBot defects against CooperateBot (Barasz et al. 2014, sec. 3 and 5); modal UDT takes
# the 10 (LaVictoire 2015, sec. 6) and cooperates with its twin; against a PA predictor PA-level UDT takes
# its default action (So8res/modal 2015); the universe pays accordingly (computed by hand from the files).
PUBLISHED = """\
FairBot vs FairBot:
  Result: FairBot=C, FairBot=C

FairBot vs DefectBot:
  Result: FairBot=D, DefectBot=D

PrudentBot vs CooperateBot:
  Result: PrudentBot=D, CooperateBot=C

PrudentBot vs FairBot:
  Result: PrudentBot=C, FairBot=C

FiveAndTen as U vs
    UDT(5) as A:
  Result: U()=$10, A()=10

Newcomb as U vs
    UDT(one) as A:
  Result: U()=$0, A()=one

Newcomb as U vs
    UDT(two) as A:
  Result: U()=$1000, A()=two

PD as U vs
    UDT(D,step=1)[...][$DC, $CC, $DD, $CD] as A1,
    UDT(D,step=1)[...][$CD, $CC, $DD, $DC] as A2:
  Result: U()=$CC, A1()=C, A2()=C

"""


def test_published_plays_in_the_reference_format_and_certified():
    results = run_file(DATA / "published_plays.ua", check=True)
    assert reference_lines(results) == PUBLISHED
    assert {r.certificate for r in results} == {"agrees"}


def test_cli_run_formats_and_check():
    r = runner.invoke(app, ["run", str(DATA / "published_plays.ua"), "--format", "reference"])
    assert r.exit_code == 0 and r.output == PUBLISHED
    r = runner.invoke(app, ["run", str(DATA / "published_plays.ua"), "--check"])
    assert r.exit_code == 0 and "8 certified, 0 unchecked" in r.output


def _error(text: str, source: str = "x.modal") -> ModalFileError | ModalRunError:
    with pytest.raises((ModalFileError, ModalRunError)) as info:
        run_text(text, source)
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        ("agent A\n\tif □⌜Them(Me)=C⌝\n\t\treturn C\n\treturn D\ncombat! A versus A\n", 5, 11, "'vs'"),
        ("agent A\n\tif □⌜Them(Me)=C\n\t\treturn C\n", 2, 17, "'⌝'"),
        ("agent A\n\tif □⌜Them(Me)=C⌝\n\t\treturn C\n\t\t\treturn D\n", 4, 4, "unexpected indentation"),
        ("agent A\n\treturn C\n  {- never closed\n", 3, 3, "unclosed block comment"),
        ("agent A\n\tif ⊤ ∧\n\t\treturn C\n", 2, 8, "expected a statement"),
        ("play: P, T\n", 1, 11, "'.'"),
        ("theory T\n\tfor action &a in outcomes\n\t\treturn &a\n", 2, 19, "expected a range"),
        ("agent A\n\treturn C\nagent A\n\treturn D\n", 3, 1, "name collision"),
        ("frobnicate\n", 1, 1, "expected theory, problem"),
    ],
)
def test_syntax_errors_name_line_and_column(text, line, col, words):
    err = _error(text)
    assert (err.line, err.column) == (line, col), str(err)
    assert words in str(err) and str(err).startswith(f"x.modal:{line}:{col}: ")


def test_compile_errors_name_the_definition():
    base = "agent A\n\tif □⌜Them(Me)=C⌝\n\t\treturn C\n\treturn D\n"
    assert "unknown agent: B" in str(_error(base + "compete: A vs B\n"))
    unmodalized = "agent A\n\tif Them(Me)=C\n\t\treturn C\n\treturn D\ncombat! A vs A\n"
    assert "unmodalized" in str(_error(unmodalized))
    bad_arg = "theory T(number k)\n\treturn x\nproblem P [$a] [x]\n\treturn $a\nplay: P, T(z).\n"
    assert "expected a number, got z" in str(_error(bad_arg))


def test_cli_bad_file_is_one_error_line_with_exit_2(tmp_path):
    f = tmp_path / "bad.modal"
    f.write_text("agent A\n\tif □⌜Them(Me)=C\n\t\treturn C\n")
    r = runner.invoke(app, ["run", str(f)], env={"COLUMNS": "400"})  # rich wraps at the terminal width
    assert r.exit_code == 2
    assert r.output.strip().startswith(f"error: {f}:2:17:") and len(r.output.strip().splitlines()) == 1
    assert runner.invoke(app, ["run", str(tmp_path / "missing.modal")]).exit_code == 2
    assert runner.invoke(app, ["run", str(f), "--format", "json"]).exit_code == 2


def test_dialects_differ_only_where_documented():
    """``.ua`` files: the reference's arithmetic (+ binds tightest, 2*3+1 = 8) and Con(n) = []^n F;
    aflab files: the usual precedence (7) and Con(n) = ~[]^(n+1) F (PA+n is consistent)."""
    prog = (
        "theory T\n\tlet &k = 2*3+1\n\tif [&k]⌜A()=x⌝\n\t\treturn y\n\treturn x\n"
        "problem P [$a, $b] [x, y]\n\tif A()=x\n\t\treturn $a\n\treturn $b\n"
        "theory Con0\n\tif Con(0)\n\t\treturn y\n\treturn x\n"
        "play: P, T.\nplay: P, Con0.\n"
    )
    ua, native = run_text(prog, "t.ua"), run_text(prog, "t.modal")
    # [k](A=x) with A=x <-> ~[k](A=x) is false whatever k is: both take x; the level is what differs
    assert ua[0].players == native[0].players
    assert dict(ua[1].players)["A()"] == "x"  # Con(0) = F in the reference: falls through to x
    assert dict(native[1].players)["A()"] == "y"  # Con(PA) is true in the standard model


def test_let_arithmetic_by_dialect():
    from aflab.embedded.language import Parser, TokenStream, tokenize_line

    def value(text: str, dialect: str) -> int:
        from aflab.embedded.language import Def
        from aflab.embedded.programs import DefCompiler, Tables

        ts = TokenStream(tokenize_line(text, 1, 1, "t"), "t", (1, len(text) + 1))
        e = Parser("t", dialect).expr(ts)
        d = Def("theory", "T", (), (), None, 1)
        return DefCompiler(d, Tables(("x",), ("y",)), {}, None, "t", dialect).arith(e, None)

    assert value("2*3+1", "reference") == 8 and value("2*3+1", "aflab") == 7
    assert value("5 - 3 - 1", "reference") == 3 and value("5 - 3 - 1", "aflab") == 1
    assert value("2^3^2", "aflab") == 512


def test_n_action_agents_if_elif_else_spaces_and_loops():
    """Three actions, elif/else, space indentation, a bounded number loop and a parameter default."""
    text = """
theory Pick(action fallback=b, number tries=3)
    for number &k in [0..&tries]
        if [&k]⌜A()=c → U()=$high⌝
            return c
        elif [&k]⌜A()=a → U()=$high⌝
            return a
    return &fallback

problem Three [$high, $mid, $low] [a, b, c]
    if A()=c
        return $high
    elif A()=a
        return $mid
    else
        return $low

play: Three, Pick[a, b, c].
play: Three, Pick(a, tries=1)[a, b, c].
"""
    first, second = run_text(text, "three.modal", check=True)
    # as in the reference, a theory that returns literal values has exactly those actions unless the
    # call lists them: without '[a, b, c]' the default b is not one of Pick's actions
    with pytest.raises(ModalRunError, match=r"expected one of \{c, a\}, got b"):
        run_text(text.replace("Pick[a, b, c]", "Pick"), "three.modal")
    assert first.players == (("U()", "$high"), ("A()", "c")) and first.certificate == "agrees"
    assert second.players == (("U()", "$high"), ("A()", "c"))


def test_parse_file_reads_every_construct():
    f = parse_file((DATA / "published_plays.ua").read_text(), "published_plays.ua")
    assert [d.kind for d in f.defs] == ["theory", "problem", "problem", "problem", "agent", "agent", "agent", "agent"]
    assert [c.op for c in f.commands] == ["combat"] * 3 + ["compete"] + ["play"] * 4
    assert f.commands[-1].calls[1].show() == "UDT(D,step=1)[...][$DC, $CC, $DD, $CD]"


def test_reference_grammar_corners():
    """A bare ``Con`` (= Con(0)), ``is``/``isnt``, ``Provable(n)[...]``, ``Possible[...]``, a ``theory map``,
    a play spread over unindented lines -- read as the reference reads them (this file gives the same
    result line in the Haskell build: U()=$a, A()=x)."""
    text = (
        "theory map T\n\tx ↔ Provable(1)[U() is $a] ∨ Possible[U() isnt $b]\n"
        "\ty ↔ ¬(Provable(1)[U() is $a] ∨ Possible[U() isnt $b])\n"
        "problem P [$a, $b] [x, y]\n\tif A()=x and not Con\n\t\treturn $a\n\treturn $b\n"
        "play: P,\nT.\n"
    )
    (r,) = run_text(text, "corners.ua")
    # in the reference dialect a bare Con is Con(0) = []^0 F = F, so 'not Con' holds and A()=x pays $a;
    # T takes x: <>(U() != $b) holds in the standard model (PA is consistent)
    assert r.players == (("U()", "$a"), ("A()", "x"))
    (native,) = run_text(text, "corners.modal")  # aflab: Con = Con(PA), true, so 'not Con' fails
    assert native.players == (("U()", "$b"), ("A()", "x"))


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("\tlet &k = 10^100\n\treturn x\n", "exponent out of range"),
        ("\tif [5000]⌜A()=x⌝\n\t\treturn x\n\treturn x\n", "proof level must be in 0..1000"),
        ("\tfor number &i in [0..1000000000]\n\t\treturn x\n\treturn x\n", "more than 100000 values"),
    ],
)
def test_program_limits_give_errors_not_hangs(code, words):
    text = "theory T\n" + code + "problem P [$a] [x]\n\treturn $a\nplay: P, T.\n"
    with pytest.raises(ModalRunError, match=words):
        run_text(text, "limits.modal")


def test_combats_solved_together_equal_one_system_per_command():
    """Without --check every combat of a file goes through the all-pairs solver; with --check each is
    its own system: the results must be the same (agents with code, maps, Them(X) and levels)."""
    agents = (DATA / "published_plays.ua").read_text().split("combat!")[0]
    extra = (
        "agent Tit\n\tif □⌜Them(CooperateBot)=C⌝ and ◇⌜Them(Me)=C⌝\n\t\treturn C\n\telse\n\t\treturn D\n"
        "bot Lvl = [2]⌜Them(Me)=C⌝ ∨ ¬[1]⌜Them(DefectBot)=C⌝\n"
        "agent map Odd\n\tC ↔ ◇⌜Them(Me)=D⌝\n\tD ↔ ¬◇⌜Them(Me)=D⌝\n"
    )
    bots = ["CooperateBot", "DefectBot", "FairBot", "PrudentBot", "Tit", "Lvl", "Odd"]
    text = agents + extra + "".join(f"combat! {a} vs {b}\n" for a in bots for b in bots)
    fast, slow = run_text(text, "c.ua"), run_text(text, "c.ua", check=True)
    assert [r.players for r in fast] == [r.players for r in slow]
    assert [r.rank for r in fast] == [r.rank for r in slow]
    assert {r.certificate for r in slow} == {"agrees"}
