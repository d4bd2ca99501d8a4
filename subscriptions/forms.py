"""Forms of the Store. They shape input only; the rules are in subscriptions.services."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import role_labels
from subscriptions.models import BillingCycle, FeedbackReason
from subscriptions.selectors.catalogue import MAX_SEATS


def keep_label(user: User) -> str:
    """A user in the keep-list: name, address and roles."""
    who = f"{user.full_name} ({user.email})" if user.full_name else user.email
    return f"{who} · {gettext(', ').join(str(label) for label in role_labels(user))}"


class KeepUsersField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return keep_label(obj)


class ConfirmChangeForm(forms.Form):
    """The confirmation of a plan change: now, or at the end of the period (when the
    change may wait); lists who stays active when seats run short. The primary contact
    always stays: the page shows them as such, not as a choice, and sends them along."""

    NOW, PERIOD_END = "now", "period_end"

    when = forms.ChoiceField(
        label=_("When"),
        choices=[(NOW, _("Now")), (PERIOD_END, _("At the end of the period"))],
        required=False,
    )
    # The figures the page showed (``PlanChangePreview.promise``): the change is made only
    # while they hold. Missing (a page from before), it holds for nothing.
    promise = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    # The payment the customer confirmed with their bank (3-D Secure) when the card asked:
    # the change is then paid with it (the provider's reference; the service checks it).
    authenticated_payment = forms.RegexField(
        regex=r"^[A-Za-z0-9_]{1,100}$", required=False, widget=forms.HiddenInput
    )
    keep = KeepUsersField(
        label=_("Users who stay active"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self, *args: Any, active_users: QuerySet[User] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if active_users is None:
            del self.fields["keep"]
        else:
            cast(KeepUsersField, self.fields["keep"]).queryset = active_users

    def kept_user_ids(self) -> list[int]:
        """Who stays active (the page sends the primary contact with the choices)."""
        return [user.pk for user in self.cleaned_data.get("keep") or []]

    @property
    def at_period_end(self) -> bool:
        return self.cleaned_data.get("when") == self.PERIOD_END

    @property
    def promise_shown(self) -> str:
        """The figures the page showed ("" from a page without them: they hold for none)."""
        return str(self.cleaned_data.get("promise") or "")


class FeedbackForm(forms.Form):
    """Why the organisation changed plan: only the reasons that fit the change's kind."""

    reason = forms.ChoiceField(
        label=_("Why did you change your plan?"),
        choices=FeedbackReason.choices,
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("Anything else you would like to tell us? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["reason"]).choices = [
            (reason.value, reason.label) for reason in FeedbackReason.for_kind(kind)
        ]


class ChangeOptionsForm(forms.Form):
    """The options of a change in the Store (``?seats=&cycle=`` and the confirmation's
    hidden fields): the seats and the billing cycle, both optional."""

    seats = forms.IntegerField(
        label=_("Agent seats"), min_value=1, max_value=MAX_SEATS, required=False
    )
    cycle = forms.ChoiceField(
        label=_("Billing cycle"), choices=BillingCycle.choices, required=False
    )

    def problem(self) -> str:
        """What is wrong with the options, in words; empty when nothing is."""
        return " ".join(
            f"{self.fields[name].label}: {' '.join(str(error) for error in errors)}"
            for name, errors in self.errors.items()
        )


class BillingDetailsForm(forms.Form):
    """How the organisation's invoices are addressed and sent (``services.billing_details``
    decides what is allowed)."""

    addressee = forms.CharField(
        label=_("Addressee"),
        max_length=100,
        required=False,
        help_text=_("The organisation's name as it should appear (empty: its name)."),
    )
    attention = forms.CharField(label=_("Department or person"), max_length=100, required=False)
    postal_address = forms.CharField(
        label=_("Postal address"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    emails = forms.CharField(
        label=_("Billing email addresses"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Up to 5, one per line: they receive every invoice, receipt and return invoice, "
            "with the primary contact."
        ),
    )
    registration_number = forms.CharField(
        label=_("Your registration number (optional)"),
        max_length=20,
        required=False,
        help_text=_("Your qualified-invoice registration number: T and 13 digits."),
    )

    def clean_emails(self) -> list[str]:
        found = [
            part.strip()
            for part in str(self.cleaned_data.get("emails") or "").replace(",", "\n").splitlines()
            if part.strip()
        ]
        for address in found:
            try:
                forms.EmailField().clean(address)
            except forms.ValidationError:
                raise forms.ValidationError(
                    gettext("“%(email)s” is not an email address.") % {"email": address}
                ) from None
        return found


class CardForm(forms.Form):
    """What the Store's card form sends: the provider's payment method, made in the browser
    from the card (whose number never reaches us)."""

    payment_method = forms.RegexField(
        label=_("Card"),
        regex=r"^pm_[A-Za-z0-9_]{1,96}$",
        max_length=100,
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Enter the card's details, then save."),
            "invalid": _("The card form sent something else than a card. Try again."),
        },
    )


class CloseOrganisationForm(forms.Form):
    """Closing the organisation: when, and its address typed again, as a confirmation."""

    PERIOD_END, NOW = "period_end", "now"
    when = forms.ChoiceField(
        label=_("When"),
        choices=[
            (PERIOD_END, _("At the end of the paid period")),
            (NOW, _("Now, with the refund of the unused part")),
        ],
        initial=PERIOD_END,
        widget=forms.RadioSelect,
    )
    address = forms.CharField(label=_("Type the organisation's address to confirm"), max_length=40)

    def __init__(self, *args: Any, slug: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slug = slug
        self.fields["address"].help_text = _("Its address is “%(slug)s”.") % {"slug": slug}

    def clean_address(self) -> str:
        typed = self.cleaned_data["address"].strip().lower()
        if typed != self.slug:
            raise forms.ValidationError(_("That is not the organisation's address."))
        return typed
