"""functions/catalog request models: what a product's attributes and a category's name may be."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from functions.catalog.handlers.create_category import CreateCategoryRequest
from functions.catalog.schemas import (
    MAX_ATTRIBUTE_INT,
    MAX_ATTRIBUTE_LIST,
    MAX_ATTRIBUTE_LIST_ITEM,
    MAX_ATTRIBUTE_NAME,
    MAX_ATTRIBUTE_TEXT,
    MAX_ATTRIBUTES,
    CreateProductRequest,
    UpdateProductRequest,
)

CATEGORY_ID = "cat_" + "0" * 26


def _create(**fields) -> CreateProductRequest:
    body = {"title": "T", "brand": "B", "category_id": CATEGORY_ID, "skus": [{"options": {}, "price": 1, "currency": "USD"}]}
    return CreateProductRequest.model_validate({**body, **fields})


def _update(**fields) -> UpdateProductRequest:
    return UpdateProductRequest.model_validate(fields)


def _fields(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) as shared/http.py reports them (without the leading `body.`)."""
    return [(".".join(str(part) for part in e["loc"]), e["msg"]) for e in error.errors()]


@pytest.mark.parametrize("model", [_create, _update])
def test_attributes_of_every_kind_within_the_limits_are_accepted(model):
    # GIVEN attributes at every limit: as many as allowed, the longest name, text and list
    attributes = {f"a{index}": index for index in range(MAX_ATTRIBUTES - 4)}
    attributes |= {
        "n" * MAX_ATTRIBUTE_NAME: "x" * MAX_ATTRIBUTE_TEXT,
        "list": ["y" * MAX_ATTRIBUTE_LIST_ITEM] * MAX_ATTRIBUTE_LIST,
        "flag": True,
        "big": -MAX_ATTRIBUTE_INT,
    }
    # WHEN a product is created or updated with them  THEN they are kept as sent (bool stays bool)
    assert model(attributes=attributes).attributes == attributes
    assert model(attributes={"flag": False, "count": 0, "empty": "", "none": []}).attributes == {
        "flag": False,
        "count": 0,
        "empty": "",
        "none": [],
    }


NOT_A_VALUE = "an attribute value is a text, an integer, true or false, or a list of texts"


@pytest.mark.parametrize("model", [_create, _update])
@pytest.mark.parametrize(
    ("attributes", "field", "message"),
    [
        pytest.param({"notes": "x" * 420_000}, "attributes.notes.str", "at most 1000 characters", id="fuzzer-420k-text"),
        pytest.param(
            {"notes": "x" * (MAX_ATTRIBUTE_TEXT + 1)}, "attributes.notes.str", "at most 1000 characters", id="long-text"
        ),
        pytest.param({"tags": ["x"] * (MAX_ATTRIBUTE_LIST + 1)}, "attributes.tags.list", "at most 10 items", id="long-list"),
        pytest.param({"tags": ["x" * 101]}, "attributes.tags.list.0", "at most 100 characters", id="long-list-item"),
        pytest.param({"n" * 41: 1}, f"attributes.{'n' * 41}.[key]", "at most 40 characters", id="long-name"),
        pytest.param({"count": MAX_ATTRIBUTE_INT + 1}, "attributes.count.int", "less than or equal to", id="big-integer"),
        pytest.param({f"a{i}": 1 for i in range(MAX_ATTRIBUTES + 1)}, "attributes", "at most 50 items", id="too-many"),
        pytest.param({"": "x"}, "attributes..[key]", "at least 1 character", id="empty-name"),
        pytest.param({"   ": "x"}, "attributes.   .[key]", "at least 1 character", id="blank-name"),
        pytest.param({"size": 1, " size ": 2}, "attributes", "two attribute names are the same", id="same-name-once-stripped"),
        pytest.param({"k": None}, "attributes.k", NOT_A_VALUE, id="null"),
        pytest.param({"k": {"nested": 1}}, "attributes.k", NOT_A_VALUE, id="object"),
        pytest.param({"k": 1.5}, "attributes.k.int", "fractional part", id="fraction"),
    ],
)
def test_attributes_past_a_limit_are_refused_with_the_field_that_is(model, attributes, field, message):
    # WHEN a product is created or updated with attributes past one of their limits
    with pytest.raises(ValidationError) as refused:
        model(attributes=attributes)
    # THEN the model refuses them (a 400 VALIDATION_ERROR), naming that attribute and why
    [(where, why)] = _fields(refused.value)
    assert where == field and message in why, (where, why)


def test_attribute_names_are_stripped():
    # WHEN a name comes with surrounding whitespace  THEN it is stored without it
    assert _update(attributes={"  material ": "wool"}).attributes == {"material": "wool"}


@pytest.mark.parametrize("model", [_create, _update])
@pytest.mark.parametrize("attributes", ['{"k": "\\udb37"}', '{"\\udb37": "v"}', '{"k": ["ok", "\\udb37"]}', '{"k": "a\\udc00b"}'])
def test_an_attribute_that_is_not_unicode_text_is_refused(model, attributes):
    # GIVEN JSON that carries a lone surrogate (valid JSON, but no UTF-8 encoding: DynamoDB refuses it)
    # WHEN it is an attribute's name or value  THEN the model refuses it
    with pytest.raises(ValidationError) as refused:
        model(attributes=json.loads(attributes))
    assert refused.value.error_count() == 1


@pytest.mark.parametrize("field", ["title", "description", "brand"])
def test_other_free_text_of_a_product_refuses_lone_surrogates_too(field):
    with pytest.raises(ValidationError):
        _update(**{field: "a\udb37"})
    with pytest.raises(ValidationError):
        _update(skus=[{"options": {"size": "\udb37"}, "price": 1, "currency": "USD"}])


@pytest.mark.parametrize("name", ["!!!", "—", "-- / --", "\u0301", "🙂"])
def test_a_category_name_needs_a_letter_or_digit(name):
    # WHEN a category's name has no letter or digit (its slug would have nothing to be made of)
    with pytest.raises(ValidationError) as refused:
        CreateCategoryRequest.model_validate({"name": name})
    # THEN the model refuses it, on `name`
    [(where, why)] = _fields(refused.value)
    assert where == "name" and "name must contain a letter or digit" in why


@pytest.mark.parametrize(("name", "kept"), [("  Garden  ", "Garden"), ("Одежда", "Одежда"), ("4K TVs!", "4K TVs!"), ("½", "½")])
def test_a_category_name_with_a_letter_or_digit_is_accepted(name, kept):
    assert CreateCategoryRequest.model_validate({"name": name}).name == kept


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Café au Lait", "cafe-au-lait"), ("T-Shirts & Tops", "t-shirts-tops"), ("服装", "服装"), ("Одежда", "одежда")],
)
def test_a_category_slug_keeps_letters_of_any_script_and_drops_accents(name, slug):
    from functions.catalog.categories import slugify

    # GIVEN a category name  WHEN it is slugified  THEN letters and digits of any script stay,
    # so two sibling names in another script do not share a fallback slug and clash
    assert slugify(name) == slug
