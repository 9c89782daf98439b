"""``aflab waluigi ...`` commands (theory / solver / Monte Carlo): output and exit codes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aflab.waluigi.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args, expect",
    [
        (["theory", "--ks", "4,8"], "P(ever transition) = 0.5"),
        (["theory", "--beta", "0.5,2", "--ks", "4,16"], "eps_k"),
        (["solve", "--r", "0.5", "--k", "6"], "mean exit time from the waluigi class = 126"),
        (["simulate", "--k", "6", "--n-traj", "2000", "--t-max", "100"], "token-steps"),
        (["simulate", "--k", "0", "--n-traj", "500", "--t-max", "50"], "token-steps"),
        (["hazard", "--ks", "4,8,16,32"], "better fit"),
        (["exit", "--ks", "1,3", "--n-traj", "200"], "closed form"),
        (["split", "--ks", "1,4", "--n-traj", "1000"], "never 0.4000"),
        (["theory", "--h", "0.5", "--r", "0.3", "--ks", "10", "--reveal-at-defection"], "0.000487805"),
        (["solve", "--h", "0.5", "--r", "0.3", "--k", "6", "--reveal-at-defection"], "stationary occupancy"),
    ],
)
def test_commands_run(args, expect):
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert expect in res.output


@pytest.mark.parametrize(
    "args, msg",
    [
        (["theory", "--h", "1.5"], "waluigi.h must lie in (0, 1]"),
        (["theory", "--ks", "4,x"], "--ks must be comma-separated integers"),
        (["theory", "--ks", "0"], "k must be an integer >= 1"),
        (["simulate", "--k", "-1"], "--k must be >= 0"),
        (["simulate", "--p-waluigi", "1.5"], "p_waluigi"),
        (["theory", "--beta", "0.5"], "--beta must be 'a,b'"),
        (["exit", "--r", "1.5"], "must lie in"),
    ],
)
def test_bad_input_exits_2(args, msg):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert msg in " ".join(res.output.split())


def test_plot_files_written(tmp_path):
    out = tmp_path / "s.png"
    res = runner.invoke(app, ["simulate", "--k", "4", "--n-traj", "500", "--t-max", "60", "--plot", str(out)])
    assert res.exit_code == 0 and out.stat().st_size > 1000


def test_figures_command_goes_through_the_runner_and_store(tmp_path):
    args = ["figures", "approx-absorbing", "--preset", "smoke", "--out", str(tmp_path / "figs")]
    args += ["--store", str(tmp_path / "r.duckdb")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "supported" in res.output and (tmp_path / "figs" / "waluigi_exit_times.png").exists()
    from aflab.core.store import ResultStore

    with ResultStore(tmp_path / "r.duckdb", read_only=True) as st:
        assert int(st.list_cells("waluigi.approx-absorbing")["cells"].sum()) == 2  # the smoke preset's 2 seeds
        assert st.latest_verdicts()["waluigi.approx-absorbing"][0] == "supported"
    again = runner.invoke(app, args)  # second run: cached cells, same verdict line
    assert again.exit_code == 0 and again.output.splitlines()[0] == res.output.splitlines()[0]
    assert runner.invoke(app, ["figures", "nope"]).exit_code == 2
    assert runner.invoke(app, ["figures", "hazard-vs-k", "--preset", "huge"]).exit_code == 2


def test_prompt_options():
    res = runner.invoke(app, ["theory", "--ks", "4", "--prompt-evidence", "0,-1"])
    assert res.exit_code == 0 and "P(ever transition) = 0.268941" in res.output  # 0.5 e^-1 / (0.5 + 0.5 e^-1)
    res = runner.invoke(app, ["theory", "--prompt-evidence", "0,-1,2"])
    assert res.exit_code == 2 and "one log-likelihood per persona" in " ".join(res.output.split())
