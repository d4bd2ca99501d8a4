"""Django's ``{% translate %}`` and ``{% url %}``, each rendered once per language or per
site where it gives the same text on every page: a translated literal (``{% translate
"Dashboard" %}``) once per language, a URL named without arguments (``{% url 'dashboard'
%}``) once per URL configuration (organisations' sites or the public one). Every page's
layout holds 23 and 12 of them, which cost 6% of a dashboard's CPU (measured,
docs/performance.md). Any other use of the two tags is Django's own.

The templates use them under Django's names: the setting ``TEMPLATES`` maps the ``i18n``
library here and makes this module built in (its ``url`` replaces Django's).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template import defaulttags
from django.template.base import FilterExpression, Parser, Token
from django.templatetags import i18n
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import get_language

register = template.Library()
register.tags.update(i18n.register.tags)
register.filters.update(i18n.register.filters)


class RenderedOnce(template.Node):
    """``node``'s text, kept for each value of ``key()``."""

    child_nodelists = ()

    def __init__(self, node: template.Node) -> None:
        self.node = node
        self.texts: dict[Any, str] = {}

    def key(self, context: template.Context) -> Any:
        raise NotImplementedError

    def render(self, context: template.Context) -> str:
        key = self.key(context)
        text = self.texts.get(key)
        if text is None:
            text = self.texts[key] = self.node.render(context)
        return text


class TranslatedOnce(RenderedOnce):
    def key(self, context: template.Context) -> Any:
        return get_language()


class ReversedOnce(RenderedOnce):
    def key(self, context: template.Context) -> Any:
        return get_urlconf(), get_script_prefix(), context.autoescape


def _constant(expression: FilterExpression | None) -> bool:
    """Whether ``expression`` is a quoted string without filters (or absent)."""
    if expression is None:
        return True
    literal = getattr(expression.var, "literal", expression.var)
    return isinstance(literal, str) and not expression.filters


def _translate(parser: Parser, token: Token) -> template.Node:
    node = i18n.do_translate(parser, token)
    assert isinstance(node, i18n.TranslateNode)
    if node.noop or node.asvar or not _constant(node.filter_expression):
        return node
    if not _constant(node.message_context):
        return node
    return TranslatedOnce(node)


register.tag("translate", _translate)
register.tag("trans", _translate)


@register.tag
def url(parser: Parser, token: Token) -> template.Node:
    node = defaulttags.url(parser, token)
    name = node.view_name
    if node.args or node.kwargs or node.asvar or not _constant(name):
        return node
    if ":" in str(name.var):  # a namespace: the current application may change it
        return node
    return ReversedOnce(node)
