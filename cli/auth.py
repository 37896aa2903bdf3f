"""``imis-tier auth``: store, show and forget iMIS credentials in the OS keyring."""

from __future__ import annotations

import json

import click

from imis_tier.client import KEYRING_SERVICE, Client, ConfigurationError, ImisError, resolve_config

_KEYS = ("base_url", "username", "client_id", "client_secret", "refresh_token")


def _keyring_call(action: str, func: object, *args: str) -> object:
    """Run a keyring function; a missing backend becomes a readable error with a way out."""
    import keyring.errors

    try:
        return func(*args)  # type: ignore[operator]
    except keyring.errors.PasswordDeleteError:
        return None
    except Exception as exc:
        raise click.ClickException(
            f"cannot {action} the OS keyring ({type(exc).__name__}: {exc}). Without a keyring, set "
            "IMIS_BASE_URL, IMIS_USERNAME and IMIS_PASSWORD in the environment instead."
        ) from exc


@click.group()
def auth() -> None:
    """Manage the iMIS credentials imis-tier uses (kept in the OS keyring)."""


@auth.command()
@click.option(
    "--base-url", prompt="iMIS base URL", help="Site root, e.g. https://assoc.example.org"
)
@click.option("--username", prompt="iMIS user name", help="The API user.")
@click.option(
    "--timezone", default=None, help="Association time zone (IANA name); else IMIS_TIMEZONE."
)
@click.option(
    "--verify/--no-verify", default=True, help="Request a token to check the password first."
)
def login(base_url: str, username: str, timezone: str | None, verify: bool) -> None:
    """Store a password (asked without echo) for USERNAME at BASE_URL in the keyring."""
    import keyring

    password = click.prompt("Password", hide_input=True)
    if verify:
        try:
            with Client(
                base_url, username=username, password=password, timezone=timezone, use_keyring=False
            ) as imis:
                imis.authenticate()
        except ImisError as exc:
            raise click.ClickException(f"login failed, nothing stored: {exc}") from exc
    _keyring_call(
        "write to", keyring.set_password, KEYRING_SERVICE, "base_url", base_url.rstrip("/")
    )
    _keyring_call("write to", keyring.set_password, KEYRING_SERVICE, "username", username)
    _keyring_call("write to", keyring.set_password, KEYRING_SERVICE, username, password)
    click.echo(
        f"Stored credentials for {username} at {base_url.rstrip('/')} in the keyring.", err=True
    )


@auth.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--check/--no-check", default=True, help="Request a token to prove the credentials work."
)
def status(as_json: bool, check: bool) -> None:
    """Show which iMIS site and user are configured, and from where (never the secrets)."""
    try:
        config = resolve_config()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
    info: dict[str, object] = {
        "base_url": config.base_url,
        "user": config.username or config.client_id,
        "grant": config.grant,
        "timezone": config.timezone,
        "sources": dict(config.sources),
    }
    if check:
        try:
            with Client(config=config) as imis:
                token = imis.authenticate()
                info["authenticated"] = True
                info["token_user"] = token.user_name
                info["token_expires_in_s"] = int(token.expires_in)
        except ImisError as exc:
            info["authenticated"] = False
            info["error"] = str(exc)
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        for name, value in info.items():
            if name == "sources":
                for setting, source in config.sources.items():
                    click.echo(f"  {setting:<14} from {source}")
            else:
                click.echo(f"{name}: {value}")
    if info.get("authenticated") is False:
        raise click.exceptions.Exit(1)


@auth.command()
def logout() -> None:
    """Remove imis-tier's credentials from the keyring."""
    import keyring

    username = _keyring_call("read", keyring.get_password, KEYRING_SERVICE, "username")
    for key in (*_KEYS, *([username] if isinstance(username, str) else [])):
        _keyring_call("delete from", keyring.delete_password, KEYRING_SERVICE, key)
    click.echo("Removed imis-tier credentials from the keyring.", err=True)
