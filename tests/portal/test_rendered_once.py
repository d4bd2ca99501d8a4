"""{% translate %} and {% url %} rendered once per language or site
(portal/templatetags/rendered_once.py): the same text as Django's tags, whatever the
language, the site or the context."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, set_script_prefix, set_urlconf
from django.utils import translation
from django.utils.translation import gettext

from portal.templatetags.rendered_once import ReversedOnce, TranslatedOnce


@pytest.fixture(autouse=True)
def _default_site() -> Iterator[None]:
    yield
    set_urlconf(None)
    set_script_prefix("/")


def nodes(template: Template) -> list[type]:
    return [type(node) for node in template.nodelist]


def test_a_translated_literal_follows_the_language_of_each_render() -> None:
    template = Template('{% load i18n %}{% translate "Dashboard" %}')
    assert TranslatedOnce in nodes(template)
    for language, expected in [
        ("ja", "ダッシュボード"),
        ("en", "Dashboard"),
        ("ja", "ダッシュボード"),
    ]:
        with translation.override(language):
            assert template.render(Context()) == expected


def test_a_message_context_is_kept() -> None:
    template = Template('{% load i18n %}{% translate ": " context "before a list" %}')
    with translation.override("ja"):
        assert template.render(Context()) == "："


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("{% translate word %}", lambda: gettext("Plans")),  # a variable
        ('{% translate "Dashboard" as label %}{{ label }}', lambda: gettext("Dashboard")),
        ('{% translate "Dashboard" noop %}', lambda: "Dashboard"),
        ('{% translate "Dashboard"|lower %}', lambda: gettext("Dashboard").lower()),
    ],
)
def test_other_translations_are_djangos(tag: str, expected: Callable[[], str]) -> None:
    template = Template("{% load i18n %}" + tag)
    assert TranslatedOnce not in nodes(template)
    for language in ("ja", "en"):
        with translation.override(language):
            assert template.render(Context({"word": "Plans"})) == expected()


def test_a_named_url_follows_the_site_and_the_prefix() -> None:
    template = Template("{% url 'landing' %}")
    assert ReversedOnce in nodes(template)
    set_urlconf("portal.urls_public")
    assert template.render(Context()) == "/"
    set_script_prefix("/portal/")
    assert template.render(Context()) == "/portal/"
    set_urlconf("portal.urls_tenants")  # organisations' sites have no landing page
    with pytest.raises(NoReverseMatch):
        template.render(Context())


def test_urls_with_arguments_are_djangos() -> None:
    template = Template("{% url 'store_confirm' code %}")
    assert ReversedOnce not in nodes(template)
    set_urlconf("portal.urls_tenants")
    assert template.render(Context({"code": "pro"})) != template.render(Context({"code": "team"}))
