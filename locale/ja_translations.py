"""Japanese strings for locale/ja (kept as data so `make messages` can re-apply them).

Run `python locale/ja_translations.py` after `make messages` to fill new entries,
then `manage.py compilemessages`. Terms follow the seed article: 特権管理者 (super admin),
メインの連絡先 (primary contact), サブスクリプション管理 (subscription management).
"""

JA = {
    "Personal info": "個人情報",
    "Permissions": "権限",
    "Important dates": "日付",
    "Accounts": "アカウント",
    "Only the primary contact or a super admin can do this.": "この操作は、メインの連絡先または特権管理者のみが実行できます。",
    "The primary contact cannot be deactivated or demoted. Transfer the primary contact role to another user first.": "メインの連絡先は無効化したり権限を下げたりできません。先にメインの連絡先の役割を別のユーザーに移してください。",
    "You cannot deactivate your own account.": "自分自身のアカウントは無効化できません。",
    "A user with the email address %(email)s already exists.": "メールアドレス %(email)s のユーザーはすでに存在します。",
    "“%(email)s” is not a valid email address.": "「%(email)s」は有効なメールアドレスではありません。",
    "%(user)s is deactivated. Reactivate them first.": "%(user)s は無効化されています。先に有効化してください。",
    "%(user)s is already active.": "%(user)s はすでに有効です。",
    "%(user)s is already deactivated.": "%(user)s はすでに無効化されています。",
    "%(user)s is already the primary contact.": "%(user)s はすでにメインの連絡先です。",
    "A department named “%(name)s” already exists.": "「%(name)s」という名前の部門はすでに存在します。",
    "Give the department a name of 1 to 100 characters.": "部門名は1〜100文字で入力してください。",
    "Email address": "メールアドレス",
    "Full name": "氏名",
    "Administrator": "管理者",
    "May manage users and departments.": "ユーザーと部門を管理できます。",
    "Super admin": "特権管理者",
    "May also manage roles and the subscription.": "役割とサブスクリプションも管理できます。",
    "Department name": "部門名",
    "email address": "メールアドレス",
    "full name": "氏名",
    "primary contact": "メインの連絡先",
    "The organisation's main contact. Exactly one active user has this role.": "組織のメインの連絡先です。有効なユーザー1人だけがこの役割を持ちます。",
    "super admin": "特権管理者",
    "May manage users, roles and the subscription.": "ユーザー、役割、サブスクリプションを管理できます。",
    "administrator": "管理者",
    "active": "有効",
    "vendor staff": "ベンダースタッフ",
    "May sign in to the vendor's admin site.": "ベンダーの管理サイトにサインインできます。",
    "date joined": "登録日",
    "user": "ユーザー",
    "users": "ユーザー",
    "name": "名前",
    "created": "作成日時",
    "department": "部門",
    "departments": "部門",
    "Primary contact": "メインの連絡先",
    "Agent": "エージェント",
    "Dashboard": "ダッシュボード",
    "Welcome, %(name)s.": "ようこそ、%(name)s さん。",
    "Your roles:": "あなたの役割:",
    "Active users": "有効なユーザー",
    "Manage users": "ユーザーを管理",
    "Departments": "部門",
    "See departments": "部門を見る",
    "Departments of your organisation": "組織の部門",
    "Name": "名前",
    "Created": "作成日",
    "Actions": "操作",
    "Rename": "名前を変更",
    "New department": "新しい部門",
    "Create department": "部門を作成",
    "Rename department": "部門名の変更",
    "Save": "保存",
    "Cancel": "キャンセル",
    "Hello,\n\nYou have been added as a user of %(name)s's helpdesk.\nChoose your password with this link (it works once, for three days):": "こんにちは。\n\n%(name)s のヘルプデスクのユーザーとして追加されました。\n次のリンクからパスワードを設定してください（1回のみ、3日間有効です）:",
    "Then sign in with your email address, %(email)s.": "その後、メールアドレス %(email)s でサインインしてください。",
    "You have been added to %(name)s's helpdesk": "%(name)s のヘルプデスクに追加されました",
    "Add user": "ユーザーを追加",
    "We will email them a link to choose their password.": "パスワード設定用のリンクをメールで送ります。",
    "Users": "ユーザー",
    "Deactivated": "無効",
    "Roles": "役割",
    "Save roles": "役割を保存",
    "Access": "アクセス",
    "The primary contact cannot be deactivated. Transfer the role to another user first.": "メインの連絡先は無効化できません。先にこの役割を別のユーザーに移してください。",
    "Deactivate": "無効化",
    "They can no longer sign in. Nothing they created is deleted.": "サインインできなくなります。作成したデータは削除されません。",
    "Reactivate": "再有効化",
    "Make primary contact": "メインの連絡先にする",
    "Only the primary contact or a super admin can change this user.": "このユーザーを変更できるのは、メインの連絡先または特権管理者のみです。",
    "Users of your organisation": "組織のユーザー",
    "Status": "状態",
    "Active": "有効",
    "Transfer the primary contact role": "メインの連絡先の役割を移す",
    "%(name)s will become your organisation's primary contact. The current primary contact keeps their other roles.": "%(name)s が組織のメインの連絡先になります。現在のメインの連絡先は、ほかの役割をそのまま持ちます。",
    "Transfer": "移す",
    "%(email)s was added. We emailed them a link to choose a password.": "%(email)s を追加しました。パスワード設定用のリンクをメールで送りました。",
    "The roles of %(user)s were saved.": "%(user)s の役割を保存しました。",
    "%(user)s was deactivated. Their data is kept; you can reactivate them at any time.": "%(user)s を無効化しました。データは保持され、いつでも再有効化できます。",
    "%(user)s was reactivated and can sign in again.": "%(user)s を再有効化しました。再びサインインできます。",
    "%(user)s is now the primary contact.": "%(user)s がメインの連絡先になりました。",
    "Department “%(name)s” was created.": "部門「%(name)s」を作成しました。",
    "The department was renamed.": "部門名を変更しました。",
    "Organisations": "組織",
    "This action is not allowed.": "この操作は許可されていません。",
    "You do not have permission to do this.": "この操作を行う権限がありません。",
    "The organisation details are not valid.": "組織の情報が正しくありません。",
    "An organisation with the address “%(slug)s” already exists.": "アドレス「%(slug)s」の組織はすでに存在します。",
    "Give the organisation a name of 1 to 100 characters.": "組織名は1〜100文字で入力してください。",
    "Use 1 to 40 lowercase letters (a-z), digits and hyphens, starting and ending with a letter or digit.": "半角英小文字(a-z)・数字・ハイフンで1〜40文字、先頭と末尾は英字か数字にしてください。",
    "“%(slug)s” is reserved. Please choose another address.": "「%(slug)s」は予約されています。別のアドレスを選んでください。",
    "address": "アドレス",
    "The subdomain of the organisation's site, e.g. “acme” for acme.example.com.": "組織のサイトのサブドメイン（例: acme.example.com なら「acme」）。",
    "updated": "更新日時",
    "organisation": "組織",
    "organisations": "組織",
    "domain": "ドメイン",
    "domains": "ドメイン",
    "Japanese": "日本語",
    "English": "英語",
    "Not allowed": "アクセスできません",
    "You don't have access to this page": "このページにはアクセスできません",
    "This page is for other roles in your organisation. If you need it, ask your organisation's primary contact or a super admin.": "このページは組織のほかの役割の方向けです。必要な場合は、組織のメインの連絡先または特権管理者にお問い合わせください。",
    "Back to the start": "最初のページに戻る",
    "Page not found": "ページが見つかりません",
    "We could not find that page. It may have moved, or the address may be mistyped.": "ページが見つかりませんでした。移動したか、アドレスが間違っている可能性があります。",
    "Sign in": "サインイン",
    "Sign in to %(name)s with the email address your administrator added.": "管理者が登録したメールアドレスで %(name)s にサインインしてください。",
    "Forgot your password?": "パスワードをお忘れですか？",
    "No account yet? Ask an administrator of your organisation to add you.": "アカウントをお持ちでない場合は、組織の管理者に追加を依頼してください。",
    "Helpdesk portal": "ヘルプデスク ポータル",
    "Skip to content": "本文へスキップ",
    "Main": "メイン",
    "Account menu": "アカウントメニュー",
    "Change password": "パスワードの変更",
    "Sign out": "サインアウト",
    "Welcome": "ようこそ",
    "Your helpdesk, your plan": "あなたのヘルプデスクに、最適なプランを",
    "Each organisation has its own site. Sign in there to manage your team and your subscription.": "組織ごとに専用のサイトがあります。そこにサインインして、チームとサブスクリプションを管理します。",
    "Go to sign-in": "サインインへ進む",
    "Vendor staff:": "ベンダースタッフ:",
    "admin site": "管理サイト",
    "No organisation here": "このアドレスに組織はありません",
    "There is no organisation at this address. Check the address, or find your organisation's site from the portal's home page.": "このアドレスには組織がありません。アドレスを確認するか、ポータルのホームページから組織のサイトを探してください。",
    "Go to the portal's home page": "ポータルのホームページへ",
    "Your organisation's address": "組織のアドレス",
    "For example “acme” or “acme.%(domain)s”.": "例:「acme」または「acme.%(domain)s」",
    "We could not find an organisation at that address. Check the spelling or ask your administrator for your site's address.": "そのアドレスの組織は見つかりませんでした。綴りを確認するか、管理者にサイトのアドレスを確認してください。",
    "Subscriptions": "サブスクリプション",
}


def apply(po_path: str) -> list[str]:
    """Fill the catalogue's entries from JA; return the msgids still untranslated."""
    import polib  # noqa: PLC0415 - a development dependency

    catalogue = polib.pofile(po_path)
    for entry in catalogue:
        if entry.msgid in JA:
            entry.msgstr = JA[entry.msgid]
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
    catalogue.metadata["Language"] = "ja"
    catalogue.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    catalogue.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    catalogue.save(po_path)
    return [entry.msgid for entry in catalogue if not entry.msgstr and not entry.obsolete]


if __name__ == "__main__":
    from pathlib import Path

    missing = apply(str(Path(__file__).parent / "ja" / "LC_MESSAGES" / "django.po"))
    for msgid in missing:
        print("untranslated:", repr(msgid))
    raise SystemExit(1 if missing else 0)
