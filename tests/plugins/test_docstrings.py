from core.plugins.docstrings import parse_docstring


def test_description_is_the_text_before_the_first_section() -> None:
    doc = parse_docstring("""Look up an order.

        By its number, in the shop's database.

        Args:
            number: The order number.

        Returns:
            The order, as JSON.
        """)
    assert doc.description == "Look up an order.\n\nBy its number, in the shop's database."


def test_args_with_types_and_continuation_lines() -> None:
    doc = parse_docstring("""Search.

        Args:
            query (str): Words to look for,
                as the user wrote them.
            limit: How many results.

        Raises:
            ToolError: never mind.
        """)
    assert doc.params == {"query": "Words to look for, as the user wrote them.", "limit": "How many results."}


def test_no_docstring_gives_nothing() -> None:
    doc = parse_docstring(None)
    assert (doc.description, doc.params) == ("", {})
