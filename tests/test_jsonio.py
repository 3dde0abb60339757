"""Strict JSON reading and writing, and whole-file writes (llmv2x.jsonio)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from llmv2x import jsonio
from llmv2x.errors import InstanceError, LlmV2xError, ResultError
from llmv2x.jsonio import MAX_DEPTH, dumps_strict, loads_strict, write_atomic


def test_plain_json_is_read_as_json_reads_it():
    text = '{"a": [1, 2.5, -3e-7, {"b": null, "c": "x[{"}], "d": true}'
    assert loads_strict(text, "file") == json.loads(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"status": "error", "status": "optimal"}', "duplicate key 'status' in result file"),
        ('{"m": {"k": 1, "k": 2}}', "m: duplicate key 'k'"),
        ('{"v": [0, {"x": NaN}]}', "v[1].x: NaN is not finite"),
        ('{"v": [Infinity]}', "v[0]: Infinity is not finite"),
        ('{"v": -Infinity}', "v: -Infinity is not finite"),
        ('{"v": 1e400}', "v: 1e400 overflows a double"),
        ('{"v": -' + "9" * 5000 + "}", "v: integer of 5000 digits"),
        ('{"alpha": [1, ' + "1" * 400 + "]}", "alpha[1]: integer of 400 digits"),
    ],
)
def test_refusals_name_the_key_or_the_place(text, message):
    with pytest.raises(ResultError) as info:
        loads_strict(text, "result file", ResultError)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_nesting_100000_deep_is_refused_before_parsing(opening):
    closing = "]" if opening == "[" else "}"
    text = opening * 100_000 + "1" + closing * 100_000
    with pytest.raises(InstanceError, match=f"nested deeper than {MAX_DEPTH} levels"):
        loads_strict(text, "instance file", InstanceError)


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = json.dumps({"name": "[" * 1000 + '\\"{' * 500})
    assert loads_strict(text, "file")["name"].startswith("[[[")


def test_nesting_at_the_limit_is_accepted():
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads_strict(text, "file") is not None


def test_depth_is_counted_outside_strings_when_there_are_many_brackets():
    # more than MAX_DEPTH brackets in all, so the scan runs; the deepest real nesting is 40
    inside = '"' + "[" * 40 + '\\"{' + '"'
    text = "[" * 40 + inside + "]" * 40
    value = loads_strict(text, "file")
    for _ in range(40):
        (value,) = value
    assert value == "[" * 40 + '"{'
    deep = "[" * 40 + inside + "," + "[" * 30 + "]" * 70
    with pytest.raises(LlmV2xError, match=f"nested deeper than {MAX_DEPTH} levels at line 1"):
        loads_strict(deep, "file")


def test_an_unterminated_string_after_many_brackets_is_invalid_json_not_a_hang():
    text = "[" + "[], " * 70 + '"a", "' + '\\"' * 20_000
    with pytest.raises(LlmV2xError, match="not valid JSON: Unterminated string"):
        loads_strict(text, "file")


def test_a_clean_document_is_not_walked_value_by_value(monkeypatch):
    # the walk that names a refused value runs only when the parser refused one: a result of
    # a million numbers is not walked a second time in Python
    def no_walk(*args):
        raise AssertionError("walked a document with nothing refused")

    monkeypatch.setattr(jsonio, "_find_refused", no_walk)
    data = {"alpha": list(range(1000)), "p_w": [0.1] * 1000, "m": {"x": 1.5}}
    assert loads_strict(json.dumps(data), "result file", ResultError) == data


def test_a_refused_value_deep_in_a_long_list_is_named():
    text = '{"p_w": [' + "0.5, " * 100_000 + 'NaN], "m": {"k": 1, "k": 2}}'
    with pytest.raises(ResultError, match=r"^p_w\[100000\]: NaN is not finite"):
        loads_strict(text, "result file", ResultError)


def test_integers_up_to_forty_digits_are_integers():
    assert loads_strict("[" + "9" * 40 + "]", "file") == [10**40 - 1]


def test_invalid_json_names_the_line():
    with pytest.raises(LlmV2xError, match="not valid JSON: .* at line 2"):
        loads_strict('{"a": 1,\n}', "file")


def test_dumps_strict_refuses_nan_in_one_line():
    with pytest.raises(LlmV2xError, match="^result: a value is NaN or infinite"):
        dumps_strict({"objective": float("inf")}, "result")
    assert json.loads(dumps_strict({"x": 1.5}, "result")) == {"x": 1.5}


# ---------------------------------------------------------------------------
# write_atomic
# ---------------------------------------------------------------------------


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_file_gets_the_umask_mode_not_0600(tmp_path, umask_022):
    path = tmp_path / "out.json"
    write_atomic(path, "{}\n")
    assert path.read_text() == "{}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_new_file_follows_a_stricter_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "out.json", "{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == 0o600


def test_overwriting_keeps_the_existing_mode(tmp_path, umask_022):
    path = tmp_path / "out.json"
    path.write_text("old")
    path.chmod(0o640)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_no_temporary_file_is_left_behind(tmp_path):
    write_atomic(tmp_path / "a.json", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "\ud800")  # a lone surrogate cannot be encoded
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_symlink_is_followed_not_replaced(tmp_path):
    target = tmp_path / "target.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_atomic(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_missing_folder_and_directory_are_refused_in_one_line(tmp_path):
    with pytest.raises(LlmV2xError, match="does not exist"):
        write_atomic(tmp_path / "no" / "a.json", "x")
    with pytest.raises(LlmV2xError, match="is a directory"):
        write_atomic(tmp_path, "x")
