"""Tests for tsfilm.registry: registration, look-up, and plugins found through entry points.

Every test runs against an empty registry that has not looked for plugins yet, and whose
only entry points are the fake ones the test adds (``entry_points.append(...)``).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from tsfilm import registry
from tsfilm.registry import (
    ENTRY_POINT_GROUP,
    TASKS,
    DuplicateModelError,
    ModelInfo,
    PluginWarning,
    find_class,
    format_models,
    get_model,
    list_models,
    make_model,
    register,
    reload_plugins,
)

REAL_ENTRY_POINTS = importlib.metadata.entry_points


class Dummy(BaseEstimator):
    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha


class OtherDummy(BaseEstimator):
    pass


@dataclasses.dataclass
class FakeEntryPoint:
    """What the registry reads of an ``importlib.metadata.EntryPoint``."""

    name: str
    load: Callable[[], object]
    value: str = "fake_plugin"
    group: str = ENTRY_POINT_GROUP
    dist: object = dataclasses.field(default_factory=lambda: types.SimpleNamespace(name="fake"))

    @property
    def module(self) -> str:
        return self.value.partition(":")[0]


def module_plugin(name: str, *models: tuple[str, str, type]) -> FakeEntryPoint:
    """An entry point naming a module whose import registers ``(name, task, cls)`` models."""

    def load() -> types.ModuleType:
        for model, task, cls in models:
            register(model, task=task)(cls)
        return types.ModuleType(name)

    return FakeEntryPoint(name, load, value=f"fake_{name}")


def new_class(name: str) -> type:
    return type(name, (BaseEstimator,), {"__module__": "fake_plugin"})


@pytest.fixture(autouse=True)
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    """A fresh registry, not discovered yet, whose entry points are this list."""
    list_models()  # the real registry discovers now, so nothing is lost while it is swapped out
    fake: list[FakeEntryPoint] = []

    def fake_entry_points(**params: str) -> list[FakeEntryPoint]:
        return [ep for ep in fake if ep.group == params.get("group", ep.group)]

    monkeypatch.setattr(registry, "_models", {})
    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.setattr(importlib.metadata, "entry_points", fake_entry_points)
    return fake


# --- registration and look-up ----------------------------------------------------------


def test_register_get_make_list_round_trip():
    assert register("dummy", task="imputation")(Dummy) is Dummy
    register("other", task="classification")(OtherDummy)

    assert get_model("dummy") is Dummy
    assert get_model("dummy", task="imputation") is Dummy
    model = make_model("dummy", alpha=0.5)
    assert isinstance(model, Dummy) and model.alpha == 0.5
    assert list_models() == [
        ModelInfo("other", "classification", OtherDummy, __name__),
        ModelInfo("dummy", "imputation", Dummy, __name__),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        list_models()[0].name = "renamed"  # type: ignore[misc]


def test_list_models_filters_by_task_and_sorts_by_name():
    register("zeta", task="imputation")(Dummy)
    register("alpha", task="imputation")(OtherDummy)
    register("beta", task="super_resolution")(Dummy)

    assert [m.name for m in list_models("imputation")] == ["alpha", "zeta"]
    assert [m.name for m in list_models("super_resolution")] == ["beta"]
    assert list_models("classification") == []
    assert [(m.task, m.name) for m in list_models()] == [
        ("imputation", "alpha"),
        ("imputation", "zeta"),
        ("super_resolution", "beta"),
    ]


def test_one_name_for_several_tasks_needs_task_to_look_up():
    register("spline", task="super_resolution")(Dummy)
    register("spline", task="imputation")(OtherDummy)

    assert get_model("spline", task="super_resolution") is Dummy
    assert get_model("spline", task="imputation") is OtherDummy
    with pytest.raises(ValueError, match=r"several tasks.*pass task="):
        get_model("spline")
    assert isinstance(make_model("spline", task="imputation"), OtherDummy)


def test_a_taken_name_raises_naming_both_classes_and_keeps_the_first():
    register("dummy", task="imputation")(Dummy)
    with pytest.raises(DuplicateModelError, match=r"to .*:Dummy .*:OtherDummy cannot take it"):
        register("dummy", task="imputation")(OtherDummy)
    assert issubclass(DuplicateModelError, ValueError)
    assert get_model("dummy") is Dummy


def test_registering_the_same_class_again_is_a_no_op():
    register("dummy", task="imputation")(Dummy)
    register("dummy", task="imputation")(Dummy)
    assert list_models() == [ModelInfo("dummy", "imputation", Dummy, __name__)]


def test_reloading_a_module_replaces_its_classes(tmp_path, monkeypatch):
    source = """
        from sklearn.base import BaseEstimator
        from tsfilm.registry import register

        @register("reloadable", task="imputation")
        class Reloadable(BaseEstimator):
            pass
    """
    (tmp_path / "fake_tsfilm_reloadable.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("fake_tsfilm_reloadable")
        first = module.Reloadable
        second = importlib.reload(module).Reloadable
    finally:
        sys.modules.pop("fake_tsfilm_reloadable", None)

    assert first is not second
    assert get_model("reloadable") is second


def test_local_classes_of_one_name_are_different_classes():
    def make() -> type:
        class Local(BaseEstimator):
            pass

        return Local

    register("local", task="imputation")(make())
    with pytest.raises(DuplicateModelError):
        register("local", task="imputation")(make())


def test_unknown_name_suggests_a_close_match_and_lists_the_names():
    register("spline", task="imputation")(Dummy)
    register("dense", task="imputation")(OtherDummy)
    register("lstm", task="classification")(Dummy)

    with pytest.raises(ValueError, match=r"Did you mean 'spline'\?.*'dense', 'spline'") as info:
        get_model("splin", task="imputation")
    assert "lstm" not in str(info.value)
    with pytest.raises(ValueError, match=r"Available: 'dense', 'lstm', 'spline'"):
        get_model("nothing_like_it")
    with pytest.raises(ValueError, match=r"'lstm' exists for task 'classification'"):
        get_model("lstm", task="imputation")
    with pytest.raises(ValueError, match=r"for task 'super_resolution'\. None registered"):
        get_model("anything", task="super_resolution")


@pytest.mark.parametrize(
    "call",
    [
        lambda task: register("dummy", task=task),
        lambda task: get_model("dummy", task=task),
        lambda task: list_models(task),
        lambda task: format_models(task),
    ],
    ids=["register", "get_model", "list_models", "format_models"],
)
def test_bad_task_lists_the_valid_tasks(call):
    with pytest.raises(ValueError, match="valid tasks are: super_resolution, imputation, class"):
        call("forecasting")
    with pytest.raises(TypeError, match="task must be a str"):
        call(["imputation"])


@pytest.mark.parametrize("name", ["", "9lives", "has space", "dash-name", "dotted.name"])
def test_bad_name_raises(name):
    with pytest.raises(ValueError, match="invalid model name"):
        register(name, task="imputation")


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="must be a str"):
        register(3, task="imputation")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a str"):
        get_model(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="decorates classes"):
        register("func", task="imputation")(lambda: None)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True), task=st.sampled_from(TASKS))
def test_any_identifier_name_round_trips(name, task):
    register(name, task=task)(Dummy)
    assert get_model(name, task=task) is Dummy


def test_source_is_tsfilm_for_builtins_and_the_module_otherwise():
    builtin = type("Builtin", (BaseEstimator,), {"__module__": "tsfilm.estimators.fake"})
    register("builtin", task="classification")(builtin)
    register("outside", task="classification")(new_class("Outside"))
    assert [(m.name, m.source) for m in list_models()] == [
        ("builtin", "tsfilm"),
        ("outside", "fake_plugin"),
    ]


def test_format_models_is_an_aligned_table():
    register("spline", task="super_resolution")(Dummy)
    register("knn", task="imputation")(OtherDummy)

    lines = format_models().splitlines()
    assert lines[0].split() == ["task", "name", "class", "source"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["imputation", "knn"],
        ["super_resolution", "spline"],
    ]
    for column in ("name", "class", "source"):
        start = lines[0].index(column)
        assert all(line[start - 2 : start] == "  " and line[start] != " " for line in lines)
    assert lines[1].endswith(f"{__name__}:OtherDummy  {__name__}")
    assert format_models("classification") == (
        "No models are registered for task 'classification'."
    )


def test_find_class_finds_registered_classes_only_and_imports_nothing():
    register("dummy", task="imputation")(Dummy)
    assert find_class(f"{__name__}:Dummy") is Dummy
    with pytest.raises(ValueError, match="not installed here"):
        find_class(f"{__name__}:OtherDummy")  # importable, but not registered
    with pytest.raises(ValueError, match="not installed here"):
        find_class("fake_tsfilm_never_imported:Model")
    assert "fake_tsfilm_never_imported" not in sys.modules


def test_importing_the_registry_stays_light():
    code = textwrap.dedent(
        f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("registry_probe", {registry.__file__!r})
        module = importlib.util.module_from_spec(spec)
        sys.modules["registry_probe"] = module
        spec.loader.exec_module(module)
        heavy = ("torch", "sklearn", "numpy", "tsfilm", "tsfilm.estimators")
        print(sorted(name for name in heavy if name in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- plugins ------------------------------------------------------------------------------


def test_module_entry_point_registers_with_its_source(entry_points):
    entry_points.append(module_plugin("mine", ("mine", "imputation", Dummy)))
    (info,) = list_models()
    assert info == ModelInfo("mine", "imputation", Dummy, "entry point mine = fake_mine (fake)")
    assert "entry point mine = fake_mine (fake)" in format_models()


def test_plugin_imported_before_discovery_still_gets_its_source(entry_points):
    # Imported directly (by a user or a test) before the first look-up: nothing new
    # registers when its entry point is loaded, yet its models are still its own.
    modules = {"top": "fake_plugin", "sub": "fake_plugin.models", "other": "fake_plugin_2"}
    for name, module in modules.items():
        register(name, task="imputation")(type(name, (BaseEstimator,), {"__module__": module}))
    entry_points.append(FakeEntryPoint("mine", lambda: None, value="fake_plugin"))
    assert [(m.name, m.source) for m in list_models()] == [
        ("other", "fake_plugin_2"),
        ("sub", "entry point mine = fake_plugin (fake)"),
        ("top", "entry point mine = fake_plugin (fake)"),
    ]


def test_function_entry_point_is_called_to_register(entry_points):
    def setup() -> None:
        register("from_function", task="classification")(OtherDummy)

    entry_points.append(FakeEntryPoint("fn", lambda: setup, value="fake_plugin:setup"))
    assert get_model("from_function") is OtherDummy
    assert list_models()[0].source == "entry point fn = fake_plugin:setup (fake)"


def test_class_entry_point_is_not_instantiated(entry_points):
    def load() -> type:
        return register("a_class", task="imputation")(Dummy)

    entry_points.append(FakeEntryPoint("cls", load, value="fake_plugin:Dummy"))
    assert get_model("a_class") is Dummy


def test_broken_plugin_is_skipped_with_a_warning_and_others_load(entry_points):
    def broken() -> None:
        raise ImportError("needs a package that is not installed")

    entry_points.append(FakeEntryPoint("broken", broken, value="fake_broken"))
    entry_points.append(module_plugin("working", ("working", "super_resolution", Dummy)))
    with pytest.warns(PluginWarning) as record:
        models = list_models()

    (message,) = [str(w.message) for w in record if issubclass(w.category, PluginWarning)]
    assert "entry point broken = fake_broken (fake)" in message
    assert "skipped" in message and "needs a package that is not installed" in message
    assert [m.name for m in models] == ["working"]


def test_plugin_taking_a_taken_name_is_skipped_whole_and_the_next_loads(entry_points):
    first, taker, untaken = new_class("First"), new_class("Taker"), new_class("Untaken")
    entry_points.append(module_plugin("first", ("taken", "imputation", first)))
    entry_points.append(
        module_plugin("taker", ("untaken", "imputation", untaken), ("taken", "imputation", taker))
    )
    entry_points.append(module_plugin("next", ("next", "imputation", Dummy)))
    with pytest.warns(PluginWarning, match=r"plugin entry point taker .*DuplicateModelError"):
        names = [m.name for m in list_models()]

    assert get_model("taken") is first
    assert names == ["next", "taken"]  # nothing of the skipped plugin, not even "untaken"
    assert list_models()[1].source == "entry point first = fake_first (fake)"


def test_builtins_are_imported_before_plugins(entry_points, monkeypatch):
    events: list[str] = []
    real_import_module = importlib.import_module

    def recording_import_module(name: str, *args: object) -> types.ModuleType:
        if name == "tsfilm.estimators":
            events.append(name)
        return real_import_module(name, *args)

    monkeypatch.setattr(importlib, "import_module", recording_import_module)
    entry_points.append(FakeEntryPoint("plugin", lambda: events.append("plugin")))
    list_models()
    assert events == ["tsfilm.estimators", "plugin"]


def test_discovery_is_lazy_runs_once_and_is_thread_safe(entry_points):
    calls: list[int] = []

    def setup() -> None:
        calls.append(1)
        time.sleep(0.05)  # so that the other threads arrive while it loads
        register("lazy", task="imputation")(Dummy)

    entry_points.append(FakeEntryPoint("lazy", lambda: setup))
    register("direct", task="classification")(OtherDummy)
    assert calls == []  # registering does not discover

    results: list[type] = []
    threads = [threading.Thread(target=lambda: results.append(get_model("lazy"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert results == [Dummy] * 8
    list_models()
    find_class(f"{__name__}:Dummy")
    assert calls == [1]


def test_reload_plugins_looks_again_and_keeps_what_is_registered(entry_points):
    entry_points.append(module_plugin("early", ("early", "imputation", Dummy)))
    register("direct", task="classification")(OtherDummy)
    assert [m.name for m in list_models()] == ["direct", "early"]

    entry_points.append(module_plugin("late", ("late", "imputation", new_class("Late"))))
    assert [m.name for m in list_models()] == ["direct", "early"]  # not looked for again
    reload_plugins()
    assert [m.name for m in list_models()] == ["direct", "early", "late"]
    assert get_model("early") is Dummy


def test_plugin_may_look_models_up_while_it_loads(entry_points):
    seen: list[list[str]] = []

    def setup() -> None:
        seen.append([m.name for m in list_models()])
        register("second", task="imputation")(OtherDummy)

    entry_points.append(module_plugin("first", ("first", "imputation", Dummy)))
    entry_points.append(FakeEntryPoint("second", lambda: setup))
    assert [m.name for m in list_models()] == ["first", "second"]
    assert seen == [["first"]]


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Install a real distribution, module ``fake_tsfilm_<name>``, with a model entry point."""
    monkeypatch.setattr(importlib.metadata, "entry_points", REAL_ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(tmp_path))
    installed: list[str] = []

    def install(name: str, source: str) -> None:
        module = f"fake_tsfilm_{name}"
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        dist_info = tmp_path / f"fake_tsfilm_{name}-0.1.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fake-{name}\n")
        (dist_info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{name} = {module}\n")
        installed.append(module)

    yield install
    for module in installed:
        sys.modules.pop(module, None)


def test_an_installed_distribution_is_found_by_its_entry_point(install_plugin):
    install_plugin(
        "installed",
        """
        from sklearn.base import BaseEstimator
        from tsfilm.registry import register

        @register("installed", task="super_resolution")
        class Installed(BaseEstimator):
            pass
        """,
    )
    (info,) = [m for m in list_models() if m.name == "installed"]
    assert info.cls is sys.modules["fake_tsfilm_installed"].Installed
    assert info.source == "entry point installed = fake_tsfilm_installed (fake-installed)"
