"""``register_keras_serializable``, ``custom_object_scope`` and the lookups,
checked against Keras 3.15.1's ``keras.saving`` where Keras defines the
behaviour (names, lookup order), and for the rules sepconv adds (unique
names, nesting scopes, thread-locality)."""

from __future__ import annotations

import threading

import pytest

import sepconv
from keras_reference import keras
from saving_fixtures import isolated_registries  # noqa: F401  (autouse fixture)


def make_class(name="Scaler"):
    def get_config(self):
        return {}

    return type(name, (), {"get_config": get_config, "__module__": __name__})


def test_registered_names_are_keras_names():
    for package, name in [("Custom", None), ("my_pkg", None), ("my_pkg", "Renamed")]:
        cls = make_class()
        kwargs = {} if package == "Custom" else {"package": package}
        if name:
            kwargs["name"] = name
        ours = sepconv.saving.register_keras_serializable(**kwargs)(cls)
        assert ours is cls
        registered = sepconv.saving.get_registered_name(cls)
        keras.saving.register_keras_serializable(**kwargs)(cls)
        assert registered == keras.saving.get_registered_name(cls)
        assert registered == f"{package}>{name or 'Scaler'}"


def test_functions_register_and_unregistered_objects_keep_their_name():
    def shift(x):
        return x + 1

    assert sepconv.saving.get_registered_name(shift) == keras.saving.get_registered_name(shift)
    sepconv.saving.register_keras_serializable("fns")(shift)
    keras.saving.register_keras_serializable("fns")(shift)
    assert sepconv.saving.get_registered_name(shift) == "fns>shift"
    assert sepconv.saving.get_registered_object("fns>shift") is shift
    assert keras.saving.get_registered_object("fns>shift") is shift
    assert sepconv.saving.get_custom_objects()["fns>shift"] is shift


def test_lookup_order_is_keras_order():
    # scope, then registered objects, then custom_objects, then module_objects
    cls_scope, cls_global, cls_custom, cls_module = (make_class() for _ in range(4))
    for lib in (sepconv, keras):
        lib.saving.get_custom_objects()["Custom>Scaler"] = cls_global
    custom = {"Custom>Scaler": cls_custom, "only_custom": cls_custom}
    module = {"Custom>Scaler": cls_module, "only_module": cls_module}
    for name in ("Custom>Scaler", "only_custom", "only_module", "missing"):
        expected_outside = keras.saving.get_registered_object(name, custom, module)
        assert sepconv.saving.get_registered_object(name, custom, module) is expected_outside
        with keras.saving.custom_object_scope({"Custom>Scaler": cls_scope}):
            expected_inside = keras.saving.get_registered_object(name, custom, module)
        with sepconv.saving.custom_object_scope({"Custom>Scaler": cls_scope}):
            assert sepconv.saving.get_registered_object(name, custom, module) is expected_inside
    with sepconv.saving.custom_object_scope({"Custom>Scaler": cls_scope}):
        assert sepconv.saving.get_registered_object("Custom>Scaler") is cls_scope


def test_a_class_needs_get_config_as_in_keras():
    class NoConfig:
        pass

    with pytest.raises(ValueError, match="get_config"):
        keras.saving.register_keras_serializable()(NoConfig)
    with pytest.raises(ValueError, match="get_config.*Received: .*NoConfig"):
        sepconv.saving.register_keras_serializable()(NoConfig)
    with pytest.raises(TypeError, match="classes and functions.*Received: 3"):
        sepconv.saving.register_keras_serializable()(3)


def test_a_name_belongs_to_one_object():
    first, second = make_class("Twin"), make_class("Other")
    register = sepconv.saving.register_keras_serializable("pkg", name="Twin")
    register(first)
    register(first)  # the same object again: nothing changes
    with pytest.raises(ValueError, match="'pkg>Twin' is already registered.*Received: .*Other"):
        register(second)
    assert sepconv.saving.get_registered_object("pkg>Twin") is first
    assert sepconv.saving.get_registered_name(second) == "Other"


def test_a_redefinition_replaces_the_registered_object():
    # A re-run notebook cell or a reloaded module: same module and qualified name.
    old, new = make_class("Cell"), make_class("Cell")
    sepconv.saving.register_keras_serializable("nb")(old)
    sepconv.saving.register_keras_serializable("nb")(new)
    assert sepconv.saving.get_registered_object("nb>Cell") is new
    assert sepconv.saving.get_registered_name(new) == "nb>Cell"
    assert sepconv.saving.get_registered_name(old) == "Cell"


@pytest.mark.parametrize("kwargs, error, argument", [
    ({"package": "a>b"}, ValueError, "package"),
    ({"name": "x>y"}, ValueError, "name"),
    ({"package": ""}, TypeError, "package"),
    ({"package": 3}, TypeError, "package"),
    ({"name": ["n"]}, TypeError, "name"),
], ids=["package-separator", "name-separator", "empty-package", "int-package", "list-name"])
def test_bad_package_or_name(kwargs, error, argument):
    with pytest.raises(error, match=f"`{argument}`.*Received: {argument}="):
        sepconv.saving.register_keras_serializable(**kwargs)


def test_scopes_nest_add_up_and_restore():
    a, b, c = make_class("A"), make_class("B"), make_class("C")
    lookup = sepconv.saving.get_registered_object
    with sepconv.saving.custom_object_scope({"a": a}) as outer:
        assert isinstance(outer, sepconv.saving.CustomObjectScope)
        with sepconv.saving.CustomObjectScope({"b": b}, None, {"a": c}):
            assert (lookup("a"), lookup("b")) == (c, b)  # inner wins, outer stays visible
        assert (lookup("a"), lookup("b")) == (a, None)
        with pytest.raises(RuntimeError):
            with sepconv.saving.custom_object_scope({"b": b}):
                raise RuntimeError("inside")
        assert lookup("b") is None  # restored after an exception too
        assert "a" not in sepconv.saving.get_custom_objects()  # scopes are not global
    assert lookup("a") is None


def test_a_scope_object_can_be_reentered():
    a = make_class("A")
    scope = sepconv.saving.custom_object_scope({"a": a})
    with scope:
        with scope:
            assert sepconv.saving.get_registered_object("a") is a
        assert sepconv.saving.get_registered_object("a") is a
    assert sepconv.saving.get_registered_object("a") is None


def test_scopes_are_thread_local():
    a = make_class("A")
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def other_thread():
        inside.wait()
        seen["other"] = sepconv.saving.get_registered_object("a")
        with sepconv.saving.custom_object_scope({"b": a}):
            release.set()
            seen["other_own"] = sepconv.saving.get_registered_object("b")

    thread = threading.Thread(target=other_thread)
    thread.start()
    with sepconv.saving.custom_object_scope({"a": a}):
        inside.set()
        release.wait()
        seen["main"] = sepconv.saving.get_registered_object("a")
        seen["main_sees_other"] = sepconv.saving.get_registered_object("b")
    thread.join()
    assert seen == {"other": None, "other_own": a, "main": a, "main_sees_other": None}


def test_scope_arguments_must_be_dicts():
    with pytest.raises(TypeError, match=r"dicts.*Received: custom_objects\[1\]='x'"):
        sepconv.saving.custom_object_scope({}, "x")


def test_global_dict_is_live():
    cls = make_class("Live")
    sepconv.saving.get_custom_objects()["Live"] = cls
    assert sepconv.saving.get_registered_object("Live") is cls


def test_utils_exports_are_the_saving_ones():
    for name in ("register_keras_serializable", "custom_object_scope", "CustomObjectScope",
                 "get_custom_objects", "get_registered_name", "get_registered_object"):
        assert getattr(sepconv.utils, name) is getattr(sepconv.saving, name), name
        assert hasattr(keras.utils, name) and hasattr(keras.saving, name), name
    assert sepconv.saving.CustomObjectScope is sepconv.saving.custom_object_scope
