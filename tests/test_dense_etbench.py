"""E.T. Bench: records, answer readers and per-task metrics on hand-computed cases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tempeval.benchmarks.etbench import (
    TASK_METRICS,
    TASKS,
    EtbenchRecord,
    SimilarityModels,
    dvc_scores,
    evs_f1,
    grounding_recall,
    gvq_scores,
    in_subset,
    iou_float32,
    local_sentence_similarity,
    parse_dense,
    parse_etbench_record,
    parse_windows,
    read_choice,
    read_gvq_choice,
    referring_accuracy,
    score_all,
    tal_f1,
    task_means,
    tem_recall,
    vhd_hit,
)
from tempeval.errors import TempevalError
from tempeval.scoring.events import Event

OPTIONS = ("a dog runs", "a cat sleeps", "a man cooks", "a bird sings")


def raw(task: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 1.0, "idx": 0, "task": task, "source": "src", "video": "src/v.mp4", "duration": 60.0,
        "q": "When does it happen? Answer like '2.5 - 4.8 seconds'.",
    }
    if task in ("rar", "eca", "rvq", "gvq"):
        base.update(o=list(OPTIONS), p=2)
    if task not in ("rar", "eca", "rvq"):
        base["tgt"] = [10.0, 20.0]
    base.update(fields)
    return base


def rec(task: str, answer: str, **fields: Any) -> EtbenchRecord:
    return parse_etbench_record(raw(task, a=answer, **fields))


def test_record_shapes_and_subset() -> None:
    assert rec("tvg", "x").target_windows == ((10.0, 20.0),)
    assert rec("tal", "x", tgt=[[0, 5], [7, 9]]).target_windows == ((0.0, 5.0), (7.0, 9.0))
    vhd = rec("vhd", "x", tgt=[[[0, 5]], [[7, 9], [11, 12]]])  # one list of windows per annotator
    assert vhd.target_windows == ((0.0, 5.0), (7.0, 9.0), (11.0, 12.0))
    choice = rec("rar", "x", o=[[1, 2], "b", "c", "d"], p=0)
    assert choice.options[0] == "1 - 2" and choice.correct == 0
    dvc = rec("dvc", "x", tgt=[[0, 5], [5, 9]], g=["a", "b"])
    assert dvc.captions == ("a", "b") and dvc.group == ("dvc", "src")
    assert in_subset(dvc, {"dvc": {"src": [0, 3]}}) and not in_subset(dvc, {"dvc": {"other": [0]}})
    assert len(TASKS) == 12 and set(TASK_METRICS) == set(TASKS)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"q": "The event happens at <vid> - <vid>."}, "etbench_txt_v1.0.json"),
        ({"task": "xyz"}, "unknown task 'xyz'"),
        ({"tgt": "soon"}, "'tgt' must be [start, end]"),
        ({"g": ["only one"], "tgt": [[0, 1], [1, 2]], "task": "dvc"}, "1 captions ('g') for 2 windows"),
        ({"p": 9, "task": "rvq", "o": list(OPTIONS)}, "'p' must index one of the 4 options"),
    ],
)
def test_bad_records_name_the_record_and_the_fix(fields: dict[str, Any], message: str) -> None:
    fields = dict(fields)
    record = raw(str(fields.pop("task", "tvg")), **fields)
    with pytest.raises(TempevalError, match="etbench.json: record 3 \\(idx 0\\)") as error:
        parse_etbench_record(record, "etbench.json: record 3")
    assert message in str(error.value)
    with pytest.raises(TempevalError, match="missing idx"):
        parse_etbench_record({"task": "tvg"}, "f.json")


@pytest.mark.parametrize(
    ("answer", "windows"),
    [
        ("The event happens in 12.0 - 20.5 seconds and again 30 - 25.", ((12.0, 20.5), (25.0, 30.0))),
        ("It goes from 3 to 7 seconds.", ((3.0, 7.0),)),
        ("It starts at 4.\nIt ends at 9.", ((4.0, 9.0),)),
    ],
)
def test_parse_windows(answer: str, windows: tuple[tuple[float, float], ...]) -> None:
    assert parse_windows(answer).answer == windows


def test_parse_windows_unparseable() -> None:
    assert not parse_windows("No idea.").ok
    assert "not a number" in parse_windows("1..5 - 3").reason


def test_parse_dense_paths_and_quirks() -> None:
    assert parse_dense("0.0 - 10.0 seconds, a man cuts onions. 10.0 - 20.0 seconds, he fries them.").answer == (
        Event(0.0, 10.0, "a man cuts onions."),
        Event(10.0, 20.0, "he fries them."),
    )
    # A preamble longer than 5 characters shifts every caption by one, as in the original script.
    shifted = parse_dense("Events found:\n0 - 10 cutting onions\n10 - 20 frying them")
    assert [e.caption for e in shifted.answer] == ["events found:", "cutting onions"]
    described = parse_dense("Start time: 1.0s, end time: 4.0s, description: a dog barks")
    assert described.answer == (Event(1.0, 4.0, "a dog barks"),)
    assert "unparseable in the official script" in parse_dense("start time 1, end time 4, a dog barks").reason
    # Last fallback: one event from the first timed line; a lone time becomes a 40-second window.
    # Without newlines the answer is cut at full stops, and each piece gets its "." back.
    assert parse_dense("At 30 seconds a dog barks loudly").answer == (Event(10.0, 50.0, "a dog barks loudly."),)
    assert parse_dense("At 0:05 a dog barks loudly").answer == (Event(5.0, 45.0, "At 0:05 a dog barks loudly."),)
    assert not parse_dense("A dog barks.").ok


@pytest.mark.parametrize(
    ("answer", "index", "failed"),
    [
        ("The answer is (C).", 2, False),
        ("Best option: (b) a cat sleeps", 1, False),
        ("c. a man cooks", 2, False),
        ("D", 3, False),
        ("", None, True),
    ],
)
def test_read_choice(answer: str, index: int | None, failed: bool) -> None:
    read = read_choice(answer, OPTIONS)
    assert (read.index, read.failed) == (index, failed)


def overlap(a: str, b: str) -> float:
    """An injectable sentence similarity: shared words."""
    return float(len(set(a.lower().split()) & set(b.lower().split())))


def test_read_choice_similarity_step() -> None:
    unread = read_choice("The man is cooking", OPTIONS)
    assert unread.index is None and unread.needs_similarity and unread.failed
    # "I think ...": a letter followed by a space is a letter step (no option 'i'), so not failed, as in the script.
    assert read_choice("I think the man is cooking", OPTIONS).failed is False
    read = read_choice("Surely a man cooks", OPTIONS, overlap)
    assert (read.index, read.failed) == (2, True)  # the embedding step counts in Failed
    # A "(X)" that names no option still marks the answer as read by letter (not failed), as in the script.
    assert read_choice("(Z) a man cooks", OPTIONS, overlap).failed is False
    gvq = read_gvq_choice("I think a man cooks", OPTIONS, overlap)
    assert (gvq.index, gvq.failed) == (2, False)
    assert read_gvq_choice("(C) a man cooks", OPTIONS).index == 2


def test_referring_accuracy() -> None:
    records = [rec("rar", "(C)"), rec("rar", "a"), rec("rar", "the man cooks"), rec("rar", "")]
    # (C) right; "a" reads as A (wrong); "the man cooks" needs the embedding step; "" fails.
    out = referring_accuracy(records)
    assert out == {"Total": 4.0, "Failed": 2.0, "Acc": 0.25, "NeedSimilarity": 1.0}
    assert referring_accuracy(records, overlap)["Acc"] == 0.5


def test_grounding_recall_tvg() -> None:
    # Target [10, 20]: IoUs 1.0, 0.5 ([10, 15]), 0.2 ([18, 28]: 2 / 18 = 0.111...), unparseable 0.
    records = [rec("tvg", "10 - 20"), rec("tvg", "10 - 15"), rec("tvg", "18 - 28"), rec("tvg", "no idea")]
    out = grounding_recall(records)
    assert out["Failed"] == 1.0
    assert (out["F1@0.1"], out["F1@0.3"], out["F1@0.5"], out["F1@0.7"]) == (0.75, 0.5, 0.5, 0.25)
    assert out["F1"] == pytest.approx(0.5)
    assert out["mIoU"] == pytest.approx((1.0 + 0.5 + 2 / 18) / 4)


def test_tem_recall_uses_the_best_target_window() -> None:
    out = tem_recall([rec("tem", "30 - 40", tgt=[[0, 5], [30, 40]]), rec("tem", "0 - 1", tgt=[[10, 20]])])
    assert (out["R@0.7"], out["mRec"], out["mIoU"]) == (0.5, 0.5, 0.5)


def test_tal_f1_hand_computed() -> None:
    target = [[0, 10], [20, 30]]
    records = [rec("tal", "0 - 9 and 40 - 50", tgt=target), rec("tal", "nothing", tgt=target)]
    out = tal_f1(records)
    # Sample 1: IoUs 0.9 and 0: F1 0.5 at every threshold; sample 2 unparseable: 0. Mean over both: 0.25.
    assert out["F1@0.1"] == out["F1@0.7"] == pytest.approx(0.25)
    assert out["F1"] == pytest.approx(0.25) and out["Failed"] == 1.0


def test_evs_f1_on_whole_seconds_and_parsed_samples_only() -> None:
    target = [[0, 10], [20, 30]]
    # Predicted 5.5 - 24.5 rounds (half to even) to bins 6..23 (18 bins); hits 6..9 and 20..23 = 8;
    # precision 8/18, recall 8/20 -> F1 = 2 * 8 / 38.
    records = [rec("evs", "5.5 - 24.5", tgt=target), rec("evs", "no idea", tgt=target)]
    out = evs_f1(records)
    assert out["F1"] == pytest.approx(16 / 38)  # the unparseable sample leaves the denominator
    assert out["Failed"] == 1.0


def test_vhd_hit() -> None:
    target = [[[0, 5]], [[10, 12]]]
    records = [rec("vhd", "The highlight is at 12 seconds.", tgt=target), rec("vhd", "At 7.", tgt=target)]
    records.append(rec("vhd", "none", tgt=target))
    out = vhd_hit(records)
    assert out == {"Total": 3.0, "Failed": 1.0, "F1": pytest.approx(1 / 3)}


def test_gvq_scores() -> None:
    records = [rec("gvq", "(C) 10 - 20"), rec("gvq", "C, from 10 - 15"), rec("gvq", "A 10 - 20"), rec("gvq", "")]
    out = gvq_scores(records)
    # Right: samples 1 (IoU 1.0) and 2 (IoU 0.5); recall over all 4.
    assert out["Acc"] == 0.5
    assert (out["R@0.5"], out["R@0.7"]) == (0.5, 0.25)
    assert out["mIoU"] == pytest.approx(1.5 / 4)
    assert out["Failed"] == 1.0


def pair_identity(references: Sequence[str], candidates: Sequence[str]) -> list[float]:
    """An injectable SentSim: 1 for identical captions."""
    return [float(r == c) for r, c in zip(references, candidates, strict=True)]


def test_dvc_scores_scale_by_parse_rate_and_sentsim() -> None:
    target = [[0, 10], [10, 20]]
    captions = ["cut onions", "fry them"]
    good = rec("dvc", "0 - 10 seconds, cut onions. 10 - 20 seconds, fry them.", tgt=target, g=captions)
    bad = rec("dvc", "No events.", tgt=target, g=captions, idx=1, video="src/w.mp4")
    out = dvc_scores([good, bad])
    # The parsed video is perfect (P = R = 1); scaled by 1 parsed / 2 samples: P = R = 0.5 -> F1 0.5.
    assert out["F1@0.1"] == out["F1@0.7"] == pytest.approx(0.5)
    assert out["F1"] == pytest.approx(0.5)
    assert "all-MiniLM-L6-v2" in out["missing"]["SentSim"]
    with_sim = dvc_scores([good, bad], pair_identity)
    assert with_sim["SentSim"] == pytest.approx(1.0)  # SentSim is not scaled by the parse rate
    assert "missing" not in with_sim


def test_missing_answer_is_an_error() -> None:
    with pytest.raises(TempevalError, match="has no answer 'a'"):
        grounding_recall([parse_etbench_record(raw("tvg"))])


def test_float32_ties_decide_as_in_the_script() -> None:
    # 3.5 / 35 is 0.1 in float64, but 7.9 and 11.4 rounded to float32 make the IoU just under 0.1.
    assert iou_float32((0.0, 35.0), (7.9, 11.4)) < 0.1
    record = rec("tal", "0 - 35", tgt=[[7.9, 11.4], [21.5, 23.9]])
    assert tal_f1([record])["F1@0.1"] == 0.0
    assert grounding_recall([rec("tvg", "0 - 35", tgt=[7.9, 11.4])])["F1@0.1"] == 0.0


def test_parse_dense_skips_a_line_with_a_colon_but_no_clock() -> None:
    # "start time: 12." has one colon and no mm:ss: the original raised there and moved on to the next line.
    parsed = parse_dense("Start time: 12. Then 5 and 100 it ends")
    assert parsed.answer == (Event(5.0, 100.0, "Then 5 and 100 it ends."),)


def test_sentsim_model_missing_is_a_reason_not_a_crash() -> None:
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        reason = local_sentence_similarity()
        assert isinstance(reason, str) and "pip install sentence-transformers" in reason
        return
    found = local_sentence_similarity("no-such-org/no-such-model")
    assert isinstance(found, str) and "local model cache" in found


def test_score_all_and_task_means_average_over_sources() -> None:
    records = [
        rec("tvg", "10 - 20", source="qvhighlights"),  # F1 1.0
        rec("tvg", "no idea", source="charades_sta"),  # F1 0.0
        rec("rar", "(C)"),
        rec("rar", "the man cooks", idx=1),  # needs the embedding step
    ]
    scores = score_all(records)
    assert list(scores) == [("rar", "src"), ("tvg", "charades_sta"), ("tvg", "qvhighlights")]
    assert task_means(scores) == {"rar": {"Acc": 0.5}, "tvg": {"F1": 0.5}}
    with_model = score_all(records, SimilarityModels(choice=overlap))
    assert with_model[("rar", "src")]["Acc"] == 1.0
