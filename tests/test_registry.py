"""Tests for tsfilm.registry: registration, look-up, and entry-point plugins."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from tsfilm import registry
from tsfilm.registry import (
    TASKS,
    DuplicateModelError,
    ModelInfo,
    PluginWarning,
    format_models,
    get_model,
    list_models,
    make_model,
    register,
    reload_plugins,
)

PLUGIN_PREFIX = "fake_tsfilm_"


class Dummy(BaseEstimator):
    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha


class OtherDummy(BaseEstimator):
    pass


@pytest.fixture(autouse=True)
def isolated_registry() -> Iterator[None]:
    """Every test starts from an empty registry and leaves the real one untouched."""
    with registry._isolated():
        yield


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable]:
    """Write a fake installed distribution with ``tsfilm.models`` entry points.

    Call it as ``install_plugin(dist, {module: source}, {entry point: value})``; the
    modules must start with ``fake_tsfilm_`` so they are unloaded after the test.
    """

    def install(dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> None:
        for module, source in modules.items():
            assert module.startswith(PLUGIN_PREFIX)
            package = tmp_path / module
            package.mkdir()
            (package / "__init__.py").write_text(textwrap.dedent(source))
        dist_info = tmp_path / f"{dist.replace('-', '_')}-0.1.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        lines = [f"{name} = {value}\n" for name, value in entry_points.items()]
        (dist_info / "entry_points.txt").write_text("[tsfilm.models]\n" + "".join(lines))

    monkeypatch.syspath_prepend(str(tmp_path))
    yield install
    for module in [m for m in sys.modules if m.startswith(PLUGIN_PREFIX)]:
        del sys.modules[module]


PLUGIN_REGISTERING = """
    from sklearn.base import BaseEstimator
    import tsfilm.registry

    @tsfilm.registry.register({name!r}, task={task!r})
    class {cls}(BaseEstimator):
        pass
"""


def plugin_source(name: str, task: str = "imputation", cls: str = "FakeEstimator") -> str:
    return textwrap.dedent(PLUGIN_REGISTERING.format(name=name, task=task, cls=cls))


def plugin_warnings(record: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, PluginWarning)]


# --- registration and look-up -------------------------------------------------------


def test_register_get_make_list_round_trip():
    register("dummy", task="imputation")(Dummy)
    register("other", task="classification")(OtherDummy)

    assert get_model("dummy") is Dummy
    assert get_model("dummy", task="imputation") is Dummy
    model = make_model("dummy", alpha=0.5)
    assert isinstance(model, Dummy)
    assert model.alpha == 0.5
    assert list_models() == [
        ModelInfo("other", "classification", OtherDummy, Dummy.__module__),
        ModelInfo("dummy", "imputation", Dummy, Dummy.__module__),
    ]


def test_register_returns_the_class_unchanged():
    assert register("dummy", task="imputation")(Dummy) is Dummy


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


def test_model_info_is_frozen():
    info = ModelInfo("dummy", "imputation", Dummy, "here")
    with pytest.raises(AttributeError):
        info.name = "other"  # type: ignore[misc]


def test_one_name_for_several_tasks_needs_task_to_look_up():
    register("spline", task="super_resolution")(Dummy)
    register("spline", task="imputation")(OtherDummy)

    assert get_model("spline", task="super_resolution") is Dummy
    assert get_model("spline", task="imputation") is OtherDummy
    with pytest.raises(ValueError, match=r"several tasks.*pass task="):
        get_model("spline")
    assert isinstance(make_model("spline", task="imputation"), OtherDummy)


def test_duplicate_raises_naming_both_sources():
    register("dummy", task="imputation", source="first-package")(Dummy)
    with pytest.raises(DuplicateModelError, match=r"first-package.*second-package"):
        register("dummy", task="imputation", source="second-package")(OtherDummy)
    assert get_model("dummy") is Dummy


def test_duplicate_error_is_a_value_error():
    assert issubclass(DuplicateModelError, ValueError)


def test_registering_the_same_class_again_is_a_no_op():
    register("dummy", task="imputation", source="first")(Dummy)
    register("dummy", task="imputation", source="second")(Dummy)
    assert list_models() == [ModelInfo("dummy", "imputation", Dummy, "first")]


def test_reloading_a_module_replaces_its_classes(tmp_path, monkeypatch):
    (tmp_path / "fake_tsfilm_reloadable.py").write_text(plugin_source("reloadable"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("fake_tsfilm_reloadable")
        first = module.FakeEstimator
        second = importlib.reload(module).FakeEstimator
    finally:
        sys.modules.pop("fake_tsfilm_reloadable", None)

    assert first is not second
    assert get_model("reloadable") is second


def test_unknown_name_lists_names_and_suggests_close_match():
    register("spline", task="imputation")(Dummy)
    register("dense", task="imputation")(OtherDummy)
    register("lstm", task="classification")(Dummy)

    with pytest.raises(ValueError, match=r"Did you mean 'spline'\?.*'dense', 'spline'") as info:
        get_model("splin", task="imputation")
    assert "lstm" not in str(info.value)
    with pytest.raises(ValueError, match=r"'dense', 'lstm', 'spline'"):
        get_model("nothing_like_it")


def test_unknown_name_points_to_the_task_that_has_it():
    register("lstm", task="classification")(Dummy)
    with pytest.raises(ValueError, match=r"'lstm' exists for task 'classification'"):
        get_model("lstm", task="imputation")


def test_unknown_name_in_an_empty_registry():
    with pytest.raises(ValueError, match="No models are registered for task 'imputation'"):
        get_model("anything", task="imputation")


@pytest.mark.parametrize(
    "call",
    [
        lambda: register("dummy", task="forecasting"),
        lambda: get_model("dummy", task="forecasting"),
        lambda: list_models("forecasting"),
        lambda: format_models("forecasting"),
    ],
)
def test_bad_task_lists_the_valid_tasks(call):
    with pytest.raises(ValueError, match="super_resolution, imputation, classification"):
        call()


@pytest.mark.parametrize("name", ["", "9lives", "has space", "dash-name", "dotted.name"])
def test_bad_name_raises(name):
    with pytest.raises(ValueError, match="invalid model name"):
        register(name, task="imputation")


def test_non_string_name_raises_type_error():
    with pytest.raises(TypeError, match="must be a str"):
        register(3, task="imputation")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a str"):
        get_model(3)  # type: ignore[arg-type]


def test_register_rejects_non_classes():
    with pytest.raises(TypeError, match="decorates classes"):
        register("func", task="imputation")(lambda: None)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True),
    task=st.sampled_from(TASKS),
)
def test_any_identifier_name_round_trips(name, task):
    with registry._isolated():
        register(name, task=task)(Dummy)
        assert get_model(name, task=task) is Dummy
        assert [(m.name, m.task) for m in list_models()] == [(name, task)]


def test_default_source_is_tsfilm_for_builtins():
    builtin = type("Builtin", (BaseEstimator,), {"__module__": "tsfilm.estimators.fake"})
    register("builtin", task="classification")(builtin)
    assert list_models()[0].source == "tsfilm"


def test_format_models_is_an_aligned_table():
    register("spline", task="super_resolution", source="pkg-a")(Dummy)
    register("knn", task="imputation", source="pkg-b")(OtherDummy)

    lines = format_models().splitlines()
    assert lines[0].split() == ["task", "name", "class", "source"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["imputation", "knn"],
        ["super_resolution", "spline"],
    ]
    for column in ("name", "class", "source"):
        start = lines[0].index(column)
        assert all(line[start - 2 : start] == "  " and line[start] != " " for line in lines)
    assert lines[1].endswith(f"{OtherDummy.__module__}.OtherDummy  pkg-b")
    assert format_models("classification") == (
        "No models are registered for task 'classification'."
    )


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


# --- plugins ----------------------------------------------------------------------------


def test_plugin_module_is_discovered_with_its_source(install_plugin):
    install_plugin(
        "fake-tsfilm-plugin",
        {"fake_tsfilm_plugin": plugin_source("fake", task="imputation")},
        {"fake": "fake_tsfilm_plugin"},
    )
    reload_plugins()

    (info,) = [m for m in list_models("imputation") if m.name == "fake"]
    assert info.cls is sys.modules["fake_tsfilm_plugin"].FakeEstimator
    assert info.source == "entry point fake = fake_tsfilm_plugin (fake-tsfilm-plugin)"
    assert "entry point fake = fake_tsfilm_plugin (fake-tsfilm-plugin)" in format_models()


def test_plugin_function_is_called_to_register(install_plugin):
    source = """
        from sklearn.base import BaseEstimator
        from tsfilm.registry import register

        class Classifier(BaseEstimator):
            pass

        def setup():
            register("fake_function", task="classification")(Classifier)
    """
    install_plugin(
        "fake-function", {"fake_tsfilm_function": source}, {"fn": "fake_tsfilm_function:setup"}
    )
    reload_plugins()

    cls = get_model("fake_function")
    assert cls is sys.modules["fake_tsfilm_function"].Classifier
    assert list_models("classification")[0].source == (
        "entry point fn = fake_tsfilm_function:setup (fake-function)"
    )


def test_broken_plugin_is_skipped_with_a_warning_and_others_load(install_plugin):
    install_plugin(
        "fake-mixed",
        {
            "fake_tsfilm_broken": "raise ImportError('needs a package that is not installed')",
            "fake_tsfilm_working": plugin_source("working", task="super_resolution"),
        },
        {"broken": "fake_tsfilm_broken", "working": "fake_tsfilm_working"},
    )
    with pytest.warns(PluginWarning, match=r"tsfilm plugin 'broken' \(fake_tsfilm_broken\)") as w:
        reload_plugins()

    (message,) = [m for m in plugin_warnings(w.list) if "'broken'" in m]
    assert "skipped" in message and "needs a package that is not installed" in message
    assert get_model("working") is sys.modules["fake_tsfilm_working"].FakeEstimator


def test_plugin_with_a_taken_name_is_skipped_and_the_first_is_kept(install_plugin):
    register("fake_taken", task="imputation", source="the first package")(Dummy)
    taker = """
        from sklearn.base import BaseEstimator
        from tsfilm.registry import register

        @register("fake_untaken", task="imputation")
        class Untaken(BaseEstimator):
            pass

        @register("fake_taken", task="imputation")
        class Taker(BaseEstimator):
            pass
    """
    install_plugin(
        "fake-taker",
        {"fake_tsfilm_taker": taker, "fake_tsfilm_next": plugin_source("fake_next")},
        {"taker": "fake_tsfilm_taker", "next": "fake_tsfilm_next"},
    )
    with pytest.warns(PluginWarning, match=r"tsfilm plugin 'taker'.*the first package"):
        reload_plugins()

    assert get_model("fake_taken") is Dummy
    names = [m.name for m in list_models()]
    # The skipped plugin is skipped whole, and the next one still loads.
    assert "fake_untaken" not in names
    assert "fake_next" in names


def test_two_plugins_with_one_name_keep_the_first_loaded(install_plugin):
    install_plugin(
        "fake-rivals",
        {
            "fake_tsfilm_first": plugin_source("fake_rival", cls="First"),
            "fake_tsfilm_second": plugin_source("fake_rival", cls="Second"),
        },
        {"first": "fake_tsfilm_first", "second": "fake_tsfilm_second"},
    )
    with pytest.warns(PluginWarning, match=r"tsfilm plugin 'second'.*entry point first"):
        reload_plugins()
    assert get_model("fake_rival").__name__ == "First"


def test_reload_keeps_plugins_whose_modules_are_already_imported(install_plugin):
    install_plugin(
        "fake-cached",
        {"fake_tsfilm_cached": plugin_source("cached")},
        {"cached": "fake_tsfilm_cached"},
    )
    reload_plugins()
    first = get_model("cached")
    reload_plugins()
    assert get_model("cached") is first
    with registry._isolated(discover=True):
        assert get_model("cached") is first


def test_reload_keeps_models_registered_outside_discovery(install_plugin):
    register("direct", task="imputation")(Dummy)
    install_plugin(
        "fake-other", {"fake_tsfilm_other": plugin_source("other")}, {"o": "fake_tsfilm_other"}
    )
    reload_plugins()
    assert get_model("direct") is Dummy


def test_discovery_is_lazy_runs_once_and_is_thread_safe(install_plugin):
    source = """
        from sklearn.base import BaseEstimator
        from tsfilm.registry import register

        CALLS = []

        class Lazy(BaseEstimator):
            pass

        def setup():
            CALLS.append(1)
            register("fake_lazy", task="imputation")(Lazy)
    """
    install_plugin("fake-lazy", {"fake_tsfilm_lazy": source}, {"lazy": "fake_tsfilm_lazy:setup"})
    calls = importlib.import_module("fake_tsfilm_lazy").CALLS

    with registry._isolated(discover=True):
        assert calls == []
        results: list[type] = []
        threads = [
            threading.Thread(target=lambda: results.append(get_model("fake_lazy")))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert calls == [1]
        assert len(results) == 8 and set(results) == {sys.modules["fake_tsfilm_lazy"].Lazy}
        list_models()
        assert calls == [1]
        reload_plugins()
        assert calls == [1, 1]
        assert get_model("fake_lazy") is sys.modules["fake_tsfilm_lazy"].Lazy


def test_isolation_restores_the_registry():
    register("outer", task="imputation")(Dummy)
    with registry._isolated():
        assert list_models() == []
        register("inner", task="imputation")(OtherDummy)
    assert [m.name for m in list_models()] == ["outer"]
