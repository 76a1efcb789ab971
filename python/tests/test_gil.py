"""The GIL is released during prediction: another Python thread keeps running while
`Model.predict` scores a few thousand molecules."""

from __future__ import annotations

import threading
import time

import moltx
from conftest import drug_smiles


def test_other_threads_run_during_predict(bundled: moltx.Model) -> None:
    ticks: list = []
    stop = threading.Event()

    def ticker() -> None:
        # Needs the GIL for every tick: a predict call holding it would leave a gap.
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.002)

    thread = threading.Thread(target=ticker, daemon=True)
    thread.start()
    try:
        # At least half a second of prediction, however fast the build: double the input
        # until the call takes that long (3,050 rows take seconds in the dev profile).
        smiles = drug_smiles() * 50
        for _ in range(6):
            start = time.perf_counter()
            df = bundled.predict(smiles, threads=1)
            end = time.perf_counter()
            if end - start >= 0.5:
                break
            smiles = smiles * 2
    finally:
        stop.set()
        thread.join()
    assert len(df) == len(smiles) and df["error"].isna().all()
    assert end - start >= 0.5, f"predict took only {end - start:.2f} s"
    inside = [t for t in ticks if start < t < end]
    # A held GIL allows a tick or two at the call's edges; a released one hundreds (one
    # per 2 ms), so ask for a modest 20, spread over both halves of the call.
    assert len(inside) >= 20, f"{len(inside)} ticks in {end - start:.2f} s of predict"
    middle = (start + end) / 2
    assert any(t < middle for t in inside) and any(t > middle for t in inside)
    largest_gap = max(b - a for a, b in zip([start, *inside], [*inside, end]))
    assert largest_gap < (end - start) / 2, f"the ticker stalled for {largest_gap:.2f} s"
