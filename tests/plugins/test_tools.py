"""``@tool``: schema from type hints and docstring, validation, sync and async, results."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, Field

from core.plugins import ToolError, tool
from core.tools.registry import ToolRegistry


@tool
async def search(
    query: str,
    limit: int = 5,
    order: Literal["new", "old"] = "new",
    labels: list[str] | None = None,
    exact: Annotated[bool, Field(description="Match the whole phrase")] = False,
) -> dict[str, object]:
    """Search the issue tracker.

    Args:
        query: Words to look for.
        limit: How many issues at most.
        exact: Overridden by the Field's own description.

    Returns:
        The issues found.
    """
    return {"query": query, "limit": limit, "order": order, "labels": labels, "exact": exact}


def test_schema_comes_from_type_hints_defaults_and_docstring() -> None:
    assert search.info.name == "search"
    assert search.info.description == "Search the issue tracker."
    assert search.info.parameters == {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "query": {"type": "string", "description": "Words to look for."},
            "limit": {"type": "integer", "default": 5, "description": "How many issues at most."},
            "order": {"type": "string", "enum": ["new", "old"], "default": "new"},
            "labels": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}], "default": None},
            "exact": {"type": "boolean", "default": False, "description": "Match the whole phrase"},
        },
        "required": ["query"],
    }


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str = "FR"


@tool(name="weather", description="The weather somewhere.")
async def weather_now(place: Place, unit: Unit = Unit.CELSIUS, json: str = "", title: str = "") -> str:
    return f"{place.city},{place.country},{unit.value},{json},{title}"


def test_enums_and_models_are_written_in_place_and_any_parameter_name_works() -> None:
    schema = weather_now.info.parameters
    assert weather_now.info.name == "weather" and weather_now.info.description == "The weather somewhere."
    assert "$defs" not in schema and "title" not in schema
    assert schema["properties"]["unit"] == {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}
    assert schema["properties"]["place"] == {
        "type": "object", "properties": {"city": {"type": "string"}, "country": {"type": "string", "default": "FR"}},
        "required": ["city"]}
    # "json" and "title" are BaseModel attributes and a schema keyword: still plain parameters.
    assert schema["properties"]["json"] == {"type": "string", "default": ""}
    assert schema["properties"]["title"] == {"type": "string", "default": ""}


async def test_arguments_are_validated_and_coerced_before_the_call() -> None:
    text = await weather_now.call({"place": {"city": "Lyon"}, "unit": "fahrenheit", "json": "j", "title": "t"})
    assert text == "Lyon,FR,fahrenheit,j,t"
    assert await search.call({"query": "crash", "limit": "3"}) == (
        '{"query":"crash","limit":3,"order":"new","labels":null,"exact":false}')


@pytest.mark.parametrize(("arguments", "problem"), [
    ({}, "query: Field required"),
    ({"query": "x", "limit": "many"}, "limit: Input should be a valid integer"),
    ({"query": "x", "order": "random"}, "order: Input should be 'new' or 'old'"),
    ({"query": "x", "sort": "asc"}, "sort: Extra inputs are not permitted"),
    (["x"], "expected a JSON object, got list"),
])
async def test_invalid_arguments_raise_a_tool_error_saying_what_is_wrong(arguments: object, problem: str) -> None:
    with pytest.raises(ToolError) as caught:
        await search.call(arguments)  # type: ignore[arg-type]
    assert str(caught.value).startswith("invalid arguments for search: ")
    assert problem in str(caught.value)


async def test_the_error_text_never_repeats_the_values_sent() -> None:
    with pytest.raises(ToolError) as caught:
        await search.call({"query": "x", "limit": "sk-secret-value"})
    assert "sk-secret-value" not in str(caught.value)


async def test_a_sync_function_runs_in_a_worker_thread_and_an_async_one_on_the_loop() -> None:
    @tool
    def blocking() -> int:
        """Where it ran."""
        return threading.get_ident()

    @tool
    async def non_blocking() -> int:
        """Where it ran."""
        return threading.get_ident()

    assert await blocking.call({}) != str(threading.get_ident())
    assert await non_blocking.call({}) == str(threading.get_ident())


@dataclass
class Found:
    count: int


@pytest.mark.parametrize(("value", "text"), [
    ("plain text", "plain text"),
    ({"a": [1, 2]}, '{"a":[1,2]}'),
    (Found(3), '{"count":3}'),
    (None, "null"),
])
async def test_the_result_is_text_str_as_it_is_anything_else_as_json(value: object, text: str) -> None:
    @tool
    async def give() -> object:
        """Gives the value."""
        return value

    assert await give.call({}) == text


async def test_the_decorated_function_can_still_be_called_directly() -> None:
    assert (await search("crash"))["limit"] == 5
    assert search.__name__ == "search" and "issue tracker" in (search.__doc__ or "")


def test_a_tool_without_parameters_has_an_empty_object_schema() -> None:
    @tool
    async def ping() -> str:
        """Answers pong."""
        return "pong"

    assert ping.info.parameters == {"type": "object", "additionalProperties": False, "properties": {}}


class Tree(BaseModel):
    name: str
    children: list[Tree] = []


def test_a_recursive_model_keeps_its_definitions() -> None:
    @tool
    async def plant(tree: Tree) -> str:
        """Plants a tree."""
        return tree.name

    schema = plant.info.parameters
    assert schema["properties"]["tree"] == {"$ref": "#/$defs/Tree"}
    assert schema["$defs"]["Tree"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Tree"}
    assert "title" not in schema["$defs"]["Tree"]


def _undocumented() -> None:
    pass


def _with_args(*words: str) -> None:
    """Takes words."""


def _generator() -> object:
    """Yields."""
    yield 1


@pytest.mark.parametrize(("declare", "complaint"), [
    (lambda: tool(_undocumented), "give it a docstring"),
    (lambda: tool(name="has space", description="x")(_undocumented), "must be 1-64 letters"),
    (lambda: tool(name="a.b", description="x")(_undocumented), "must be 1-64 letters"),
    (lambda: tool(_with_args), "*args parameters cannot come from JSON"),
    (lambda: tool(_generator), "cannot be a generator"),
])
def test_a_tool_that_cannot_work_is_refused_when_declared(declare: object, complaint: str) -> None:
    with pytest.raises(TypeError, match=complaint.replace("*", r"\*")):
        declare()  # type: ignore[operator]


def test_a_tool_joins_a_registry_and_its_spec_is_what_the_model_sees() -> None:
    registry = ToolRegistry([search])
    (spec,) = registry.specs(["search"])
    assert (spec.name, spec.description, spec.parameters) == ("search", "Search the issue tracker.", search.info.parameters)


def test_titles_go_but_data_that_holds_a_title_stays() -> None:
    @tool
    async def label(style: dict[str, str] = {"title": "bold"}, choice: Literal["title"] = "title") -> str:  # noqa: B006
        """Labels a thing."""
        return ""

    properties = label.info.parameters["properties"]
    assert properties["style"]["default"] == {"title": "bold"}
    assert properties["choice"] == {"type": "string", "const": "title", "default": "title"}
