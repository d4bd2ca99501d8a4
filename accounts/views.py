"""The organisation's own pages: dashboard, users and departments. Thin: forms shape
input, services decide, selectors say who may see what."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import DepartmentForm, InviteUserForm, RolesForm
from accounts.limits import limits
from accounts.models import Department, User
from portal.http import OrganisationRequest
from portal.refusals import answered

View = Callable[..., HttpResponse]


def organisation_page(rule: Callable[[Any], bool] | None = None) -> Callable[[View], View]:
    """An organisation-site page for signed-in users; with ``rule``, only for users the
    selector allows (others get the 403 page)."""

    def decorate(view: View) -> View:
        @wraps(view)
        @login_required
        def wrapped(request: OrganisationRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if rule is not None and not rule(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _departments(request: OrganisationRequest) -> selectors.Departments:
    return selectors.departments_under_limit(limits().departments(request.organisation))


@organisation_page()
def dashboard(request: OrganisationRequest) -> HttpResponse:
    departments = _departments(request)
    context = {
        "role_labels": selectors.role_labels(request.user),
        # The count kept with every change of who is active: no query of its own.
        "active_users": limits().seats_in_use(request.organisation),
        "departments": departments.visible,
        "department_hidden": departments.hidden_count,
        "department_limit": departments.limit,
    }
    return render(request, "accounts/dashboard.html", context)


USERS_PER_PAGE = 50


@organisation_page(selectors.can_manage_users)
def user_list(request: OrganisationRequest) -> HttpResponse:
    """The organisation's users, a page at a time (an odd ``?page=`` shows the nearest)."""
    page = Paginator(selectors.list_users(), USERS_PER_PAGE).get_page(request.GET.get("page"))
    users = [(user, selectors.role_labels(user)) for user in page]
    return render(request, "accounts/user_list.html", {"users": users, "page": page})


@organisation_page(selectors.can_manage_users)
def user_add(request: OrganisationRequest) -> HttpResponse:
    may_grant = selectors.has_full_control(request.user)
    form = InviteUserForm(request.POST or None, may_grant_super_admin=may_grant)
    status = 200
    if request.method == "POST" and form.is_valid():
        with answered(request, form=form) as refusal:
            user = services.invite_user(
                organisation=request.organisation,
                acting_user=request.user,
                **form.cleaned_data,
            )
            messages.success(
                request,
                _("%(email)s was added. We emailed them a link to choose a password.")
                % {"email": user.email},
            )
            return redirect("user_list")
        status = refusal.status
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/user_add.html", {"form": form}, status=status)


def _user_page(
    request: OrganisationRequest, user: User, form: RolesForm | None = None, status: int = 200
) -> HttpResponse:
    may_grant = selectors.has_full_control(request.user)
    if form is None:
        form = RolesForm(
            initial={
                "is_super_admin": user.is_super_admin,
                "is_administrator": user.is_administrator,
            },
            may_grant_super_admin=may_grant,
        )
    context = {
        "subject": user,
        "subject_roles": selectors.role_labels(user),
        "form": form,
        "may_edit": selectors.can_edit_user(request.user, user),
        "may_transfer": may_grant and user.is_active and not user.is_primary_contact,
        "is_self": user.pk == request.user.pk,
    }
    return render(request, "accounts/user_detail.html", context, status=status)


@organisation_page(selectors.can_manage_users)
def user_detail(request: OrganisationRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    if request.method != "POST":
        return _user_page(request, user)
    form = RolesForm(
        request.POST,
        initial={"is_super_admin": user.is_super_admin},
        may_grant_super_admin=selectors.has_full_control(request.user),
    )
    if not form.is_valid():
        return _user_page(request, user, form, status=400)
    with answered(request) as refusal:
        services.update_roles(user, acting_user=request.user, **form.cleaned_data)
        messages.success(request, _("The roles of %(user)s were saved.") % {"user": user})
        return redirect("user_detail", pk=user.pk)
    return _user_page(request, user, form, status=refusal.status)


def _user_action(
    request: OrganisationRequest, pk: int, action: Callable[..., User], done: str
) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    with answered(request) as refusal:
        user = action(user, acting_user=request.user)
        messages.success(request, done % {"user": user})
        return redirect("user_detail", pk=user.pk)
    return _user_page(request, user, status=refusal.status)


@require_POST
@organisation_page(selectors.can_manage_users)
def user_deactivate(request: OrganisationRequest, pk: int) -> HttpResponse:
    return _user_action(
        request,
        pk,
        services.deactivate_user,
        _("%(user)s was deactivated. Their data is kept; you can reactivate them at any time."),
    )


@require_POST
@organisation_page(selectors.can_manage_users)
def user_reactivate(request: OrganisationRequest, pk: int) -> HttpResponse:
    return _user_action(
        request, pk, services.reactivate_user, _("%(user)s was reactivated and can sign in again.")
    )


@organisation_page(selectors.has_full_control)
def user_make_primary_contact(request: OrganisationRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        user = get_object_or_404(User, pk=pk)
        return render(request, "accounts/user_make_primary_contact.html", {"subject": user})
    return _user_action(
        request, pk, services.transfer_primary_contact, _("%(user)s is now the primary contact.")
    )


@organisation_page()
def department_list(request: OrganisationRequest) -> HttpResponse:
    may_manage = selectors.can_manage_departments(request.user)
    form = DepartmentForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied
        if form.is_valid():
            with answered(request, form=form, field="name") as refusal:
                department = services.create_department(
                    name=form.cleaned_data["name"],
                    acting_user=request.user,
                )
                messages.success(
                    request, _("Department “%(name)s” was created.") % {"name": department.name}
                )
                return redirect("department_list")
            status = refusal.status
        else:
            status = 400
    departments = _departments(request)
    context = {
        "departments": departments.visible,
        "hidden_count": departments.hidden_count,
        "department_limit": departments.limit,
        "has_room": departments.has_room,
        "form": form,
        "may_manage": may_manage,
    }
    return render(request, "accounts/department_list.html", context, status=status)


@organisation_page(selectors.can_manage_departments)
def department_rename(request: OrganisationRequest, pk: int) -> HttpResponse:
    visible = {department.pk for department in _departments(request).visible}
    department = get_object_or_404(Department, pk=pk, pk__in=visible)
    form = DepartmentForm(request.POST or None, initial={"name": department.name})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            with answered(request, form=form, field="name") as refusal:
                services.rename_department(
                    department,
                    name=form.cleaned_data["name"],
                    acting_user=request.user,
                )
                messages.success(request, _("The department was renamed."))
                return redirect("department_list")
            status = refusal.status
        else:
            status = 400
    return render(
        request,
        "accounts/department_rename.html",
        {"department": department, "form": form},
        status=status,
    )
