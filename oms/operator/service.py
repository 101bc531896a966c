"""Operators: accounts and roles, set-up links, passwords, TOTP, browser sessions and automation tokens.

Services never commit. Every secret an operator holds (setup token, session cookie, CSRF token, operator
token) is random and kept only as its HMAC under the operator pepper, so the database alone opens nothing;
the password is an argon2 hash; the TOTP secret is sealed with AES-GCM (associated data: the operator id).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from oms.config import Mode
from oms.errors import AuthenticationFailed, Conflict, InvalidRequest, NotFound, PermissionDenied, Unprocessable
from oms.kit.crypto import constant_time_equals, generate_secret, hmac_sha256, open_sealed, seal
from oms.kit.ids import new_id
from oms.kit.time import Clock, isoformat
from oms.models import Operator, OperatorSession, OperatorToken
from oms.models.operator import ROLES, OperatorRole, OperatorStatus
from oms.operator import repository, schemas, totp

SETUP_PREFIX = "ost_"
SESSION_PREFIX = "oss_"
TOKEN_PREFIX = "oat_"
MIN_PASSWORD = 12
MAX_PASSWORD = 256
# A session's last activity is written at most this often (and never less often than a quarter of the idle
# limit): reads then cost no write, and the idle limit is exact to within this.
TOUCH_SECONDS = 60.0
Subject = tuple[str, str]  # what the lockout counts: ("operator", email), ("address", client address)
Subjects = Sequence[Subject]


@dataclass(frozen=True, slots=True)
class OperatorContext:
    """Who is calling the admin API: the operator and the role it has now (read on every request)."""

    operator_id: str
    email: str
    role: OperatorRole
    session_id: str | None = None  # set when the caller came in with a browser session
    token_id: str | None = None  # set when the caller came in with an operator token

    def has(self, role: OperatorRole) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


class LoginGuard(Protocol):
    """The lockout of failed logins (``oms.ratelimit.lockout.Lockout`` offers this interface)."""

    async def refuse_if_locked(self, subjects: Subjects) -> frozenset[Subject]: ...
    async def failed(self, subjects: Subjects) -> None: ...
    async def forget(self, subjects: Subjects) -> None: ...


@dataclass(frozen=True, slots=True)
class SetupLink:
    operator_id: str
    email: str
    url: str  # the token is in the fragment: a browser never sends it to a server, nor a proxy logs it
    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewSession:
    operator: Operator
    cookie: str
    csrf_token: str
    expires_at: datetime
    # The subjects whose failures the login's success forgets (its email, if it had any on record), for the
    # caller to clear once the login's own transaction has ended (``Lockout.forget``).
    proven: tuple[Subject, ...]


def normalise_email(email: str) -> str:
    """The address as stored: validated (syntax only, no DNS) and lower-cased."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidRequest("parameter_invalid", f"Invalid email: {exc}", param="email") from None


def check_password(password: str, param: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest("password_too_short", f"A password has at least {MIN_PASSWORD} characters.", param=param)
    if len(password) > MAX_PASSWORD:
        raise InvalidRequest("password_too_long", f"A password has at most {MAX_PASSWORD} characters.", param=param)


class OperatorService:
    def __init__(
        self,
        *,
        clock: Clock,
        mode: Mode,
        pepper: bytes,
        totp_key: bytes,
        base_url: str,
        setup_seconds: float,
        idle_seconds: float,
        absolute_seconds: float,
        guard: LoginGuard,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._clock = clock
        self.mode = mode
        self._pepper = pepper
        self._totp_key = totp_key
        self.base_url = base_url.rstrip("/")
        self._setup = timedelta(seconds=setup_seconds)
        self.idle = timedelta(seconds=idle_seconds)
        self.absolute = timedelta(seconds=absolute_seconds)
        self._touch = timedelta(seconds=min(TOUCH_SECONDS, idle_seconds / 4))
        self._hasher = hasher or PasswordHasher()
        self.guard = guard
        self._dummy_hash: str | None = None

    @property
    def totp_required(self) -> bool:
        """A second factor is required in live mode; optional (but honoured once enrolled) in sandbox."""
        return self.mode is Mode.live

    def _hash(self, value: str) -> str:
        return hmac_sha256(self._pepper, value)

    # --- accounts -------------------------------------------------------------------------------------

    async def create(self, session: AsyncSession, email: str, role: OperatorRole) -> tuple[Operator, SetupLink]:
        email = normalise_email(email)
        if await repository.by_email(session, email) is not None:
            raise Conflict("operator_exists", f"An operator with the email {email} exists.", param="email")
        now = self._clock.now()
        operator = Operator(
            id=new_id("op"),
            email=email,
            role=role,
            status="active",
            password_hash=None,
            totp_nonce=None,
            totp_ciphertext=None,
            totp_confirmed_at=None,
            totp_last_step=None,
            setup_token_hash=None,
            setup_expires_at=None,
            created_at=now,
            updated_at=now,
        )
        session.add(operator)
        link = self._new_link(operator)
        await session.flush()
        return operator, link

    async def get(self, session: AsyncSession, operator_id: str, *, for_update: bool = False) -> Operator:
        operator = await repository.get(session, operator_id, for_update=for_update)
        if operator is None:
            raise NotFound.resource("operator", operator_id)
        return operator

    async def by_email(self, session: AsyncSession, email: str) -> Operator:
        operator = await repository.by_email(session, email.strip().lower())
        if operator is None:
            raise NotFound.resource("operator", email)
        return operator

    async def list(self, session: AsyncSession) -> Sequence[Operator]:
        return await repository.list_all(session)

    async def issue_setup_link(self, session: AsyncSession, operator_id: str) -> SetupLink:
        """A new one-time link (the previous one stops working): for a forgotten password or a new device."""
        operator = await self.get(session, operator_id, for_update=True)
        link = self._new_link(operator)
        await session.flush()
        return link

    def _new_link(self, operator: Operator) -> SetupLink:
        token = generate_secret(SETUP_PREFIX)
        now = self._clock.now()
        operator.setup_token_hash = self._hash(token)
        operator.setup_expires_at = now + self._setup
        operator.updated_at = now
        url = f"{self.base_url}/admin/v1/setup#token={token}"
        return SetupLink(operator.id, operator.email, url, token, operator.setup_expires_at)

    async def change(
        self,
        session: AsyncSession,
        operator_id: str,
        *,
        role: OperatorRole | None = None,
        status: OperatorStatus | None = None,
    ) -> Operator:
        """Change an operator's role or status. The last active admin can be neither demoted nor disabled: the
        server would be left with nobody able to administer it (the CLI is the way back in)."""
        operator = await self.get(session, operator_id, for_update=True)
        losing_admin = operator.role == "admin" and operator.status == "active"
        losing_admin &= (role is not None and role != "admin") or status == "disabled"
        if losing_admin and await repository.active_admins(session) <= 1:
            raise Conflict("last_admin", "This is the last active admin: promote another operator first.")
        now = self._clock.now()
        if role is not None:
            operator.role = role
        if status is not None and status != operator.status:
            operator.status = status
            if status == "disabled":  # out at once, and its tokens never come back with a re-enabled account
                await repository.end_sessions_of(session, operator.id, now)
                await repository.revoke_tokens_of(session, operator.id, now)
        operator.updated_at = now
        await session.flush()
        return operator

    async def reset_totp(self, session: AsyncSession, operator_id: str) -> SetupLink | None:
        """Forget the operator's second factor (a lost device) and end its sessions. In live mode the operator
        cannot log in without one, so a setup link to enrol again is issued."""
        operator = await self.get(session, operator_id, for_update=True)
        now = self._clock.now()
        operator.totp_nonce = operator.totp_ciphertext = None
        operator.totp_confirmed_at = None
        operator.totp_last_step = None
        operator.updated_at = now
        await repository.end_sessions_of(session, operator.id, now)
        link = self._new_link(operator) if self.totp_required else None
        await session.flush()
        return link

    async def set_password(self, session: AsyncSession, operator_id: str, password: str) -> None:
        """The CLI's ``--password-prompt``: the operator types it on the server's terminal."""
        check_password(password)
        operator = await self.get(session, operator_id, for_update=True)
        operator.password_hash = await asyncio.to_thread(self._hasher.hash, password)
        operator.updated_at = self._clock.now()
        await session.flush()

    # --- set-up through the link ----------------------------------------------------------------------

    async def _by_setup_token(self, session: AsyncSession, token: str) -> Operator:
        operator = await repository.by_setup_token(session, self._hash(token))
        if (
            operator is None
            or operator.setup_expires_at is None
            or operator.setup_expires_at <= self._clock.now()
            or operator.status != "active"
        ):
            raise AuthenticationFailed("This setup link is invalid, used or expired.", code="invalid_setup_token")
        return operator

    async def begin_setup_totp(self, session: AsyncSession, token: str) -> str:
        """Start enrolling a second factor during set-up: the provisioning URI, returned only here."""
        return await self._begin_totp(await self._by_setup_token(session, token))

    async def complete_setup(
        self, session: AsyncSession, token: str, *, password: str | None, totp_code: str | None
    ) -> Operator:
        """Set the password and/or confirm the second factor begun with ``begin_setup_totp``; the link is spent.
        Afterwards the operator must be able to log in: a password, and in live mode a confirmed TOTP."""
        operator = await self._by_setup_token(session, token)
        if password is not None:
            check_password(password)
        elif operator.password_hash is None:
            raise InvalidRequest("parameter_missing", "Missing required parameter: password.", param="password")
        now = self._clock.now()
        if totp_code is not None:
            self._confirm(operator, totp_code, now, param="totpCode")
        elif self.totp_required and operator.totp_confirmed_at is None:
            raise Unprocessable(
                "totp_enrollment_required",
                "A second factor is required in live mode: POST /admin/v1/setup/totp, add the key to an "
                "authenticator app, then send its current code as totpCode.",
                param="totpCode",
            )
        if password is not None:
            operator.password_hash = await asyncio.to_thread(self._hasher.hash, password)
        operator.setup_token_hash = None
        operator.setup_expires_at = None
        operator.updated_at = now
        await session.flush()
        return operator

    # --- TOTP -----------------------------------------------------------------------------------------

    async def begin_totp(self, session: AsyncSession, operator_id: str) -> str:
        return await self._begin_totp(await self.get(session, operator_id, for_update=True))

    async def _begin_totp(self, operator: Operator) -> str:
        if operator.totp_confirmed_at is not None:
            raise Conflict(
                "totp_already_enrolled",
                "A second factor is enrolled; an admin can reset it (oms operators reset-totp).",
            )
        secret = totp.new_secret()
        operator.totp_nonce, operator.totp_ciphertext = seal(self._totp_key, secret.encode(), operator.id.encode())
        operator.totp_last_step = None
        operator.updated_at = self._clock.now()
        return totp.provisioning_uri(secret, operator.email)

    async def confirm_totp(self, session: AsyncSession, operator_id: str, code: str) -> Operator:
        operator = await self.get(session, operator_id, for_update=True)
        if operator.totp_confirmed_at is not None:
            raise Conflict("totp_already_enrolled", "A second factor is already enrolled.")
        self._confirm(operator, code, self._clock.now(), param="code")
        await session.flush()
        return operator

    def _confirm(self, operator: Operator, code: str, now: datetime, *, param: str) -> None:
        if operator.totp_ciphertext is None:
            raise Conflict("totp_not_started", "Begin the enrolment first: it returns the key to add.", param=param)
        if not self._accept_code(operator, code, now):
            raise InvalidRequest("invalid_totp_code", "The code does not match the enrolled key.", param=param)
        operator.totp_confirmed_at = now
        operator.updated_at = now

    def _accept_code(self, operator: Operator, code: str, now: datetime) -> bool:
        """Whether ``code`` is the operator's current code (±1 step) and later than any code accepted before."""
        assert operator.totp_nonce is not None and operator.totp_ciphertext is not None
        secret = open_sealed(self._totp_key, operator.totp_nonce, operator.totp_ciphertext, operator.id.encode())
        step = totp.matching_step(secret.decode(), code, now)
        if step is None or (operator.totp_last_step is not None and step <= operator.totp_last_step):
            return False
        operator.totp_last_step = step
        return True

    # --- browser sessions -----------------------------------------------------------------------------

    async def login(
        self, session: AsyncSession, *, email: str, password: str, totp_code: str | None, address: str
    ) -> NewSession:
        """Email, password and (when enrolled, always in live mode) a TOTP code: a new session. Every failure
        counts against the email and the client address in the lockout (``LoginGuard``)."""
        email = email.strip().lower()
        subjects: list[Subject] = [("operator", email), ("address", address)]
        recorded = await self.guard.refuse_if_locked(subjects)
        operator = await repository.by_email(session, email, for_update=True)
        if operator is None or operator.status != "active" or not await self._password_matches(operator, password):
            raise await self._failed_login(session, subjects, "Invalid email or password.", "invalid_credentials")
        now = self._clock.now()
        if operator.totp_confirmed_at is not None:
            if not totp_code:
                raise await self._failed_login(
                    session, subjects, "A TOTP code is required: send totpCode.", "totp_required"
                )
            if not self._accept_code(operator, totp_code, now):
                raise await self._failed_login(
                    session, subjects, "Invalid or already used TOTP code.", "invalid_totp_code"
                )
        elif self.totp_required:
            raise PermissionDenied(
                "totp_enrollment_required",
                "A second factor is required in live mode and none is enrolled: ask an admin for a setup link "
                "(oms operators reset-totp).",
            )
        assert operator.password_hash is not None  # _password_matches checked it
        if self._hasher.check_needs_rehash(operator.password_hash):  # the parameters changed since it was hashed
            operator.password_hash = await asyncio.to_thread(self._hasher.hash, password)
        cookie = generate_secret(SESSION_PREFIX)
        csrf = generate_secret("")
        expires = now + self.absolute
        session.add(
            OperatorSession(
                id=self._hash(cookie),
                operator_id=operator.id,
                csrf_hash=self._hash(csrf),
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
                ended_at=None,
            )
        )
        await session.flush()
        # one good password must not clear an address that guesses others: only the email is forgotten
        return NewSession(operator, cookie, csrf, expires, proven=tuple(recorded & {subjects[0]}))

    async def _failed_login(
        self, session: AsyncSession, subjects: Subjects, message: str, code: str
    ) -> AuthenticationFailed:
        """The refusal of a login, counted in the lockout: the attempt's transaction ends first (the failure is
        written in the guard's own)."""
        await session.rollback()
        await self.guard.failed(subjects)
        return AuthenticationFailed(message, code=code)

    async def _password_matches(self, operator: Operator, password: str) -> bool:
        """argon2 verification, off the event loop; an account without a password costs the same time."""
        stored = operator.password_hash
        if stored is None:
            if self._dummy_hash is None:
                self._dummy_hash = await asyncio.to_thread(self._hasher.hash, generate_secret("", 16))
            stored = self._dummy_hash
        try:
            await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return False
        return operator.password_hash is not None

    async def session_context(
        self, session: AsyncSession, cookie: str, *, unsafe: bool, csrf_token: str | None
    ) -> tuple[OperatorContext, bool]:
        """The operator behind a session cookie, and whether its last activity is due to be written. An unsafe
        request (POST, PUT, PATCH, DELETE) must carry the session's CSRF token in ``X-CSRF-Token``."""
        found = await repository.session_with_operator(session, self._hash(cookie))
        now = self._clock.now()
        if found is None or found[0].ended_at is not None or found[1].status != "active":
            raise AuthenticationFailed("Invalid or ended session: log in again.", code="invalid_session")
        row, operator = found
        if now >= row.expires_at or now >= row.last_seen_at + self.idle:
            raise AuthenticationFailed("The session has expired: log in again.", code="session_expired")
        if unsafe:
            if not csrf_token:
                raise PermissionDenied("csrf_token_missing", "Send the session's CSRF token in X-CSRF-Token.")
            if not constant_time_equals(self._hash(csrf_token), row.csrf_hash):
                raise PermissionDenied("csrf_token_invalid", "The X-CSRF-Token is not this session's.")
        context = OperatorContext(operator.id, operator.email, _role(operator.role), session_id=row.id)
        return context, now - row.last_seen_at >= self._touch

    async def touch(self, session: AsyncSession, session_id: str) -> None:
        await repository.touch_session(session, session_id, self._clock.now())

    async def logout(self, session: AsyncSession, session_id: str) -> None:
        await repository.end_session(session, session_id, self._clock.now())

    # --- tokens for automation ------------------------------------------------------------------------

    async def create_token(
        self, session: AsyncSession, operator_id: str, *, name: str, expires_in: int | None
    ) -> tuple[OperatorToken, str]:
        """A token acting with its operator's role (as it is at each use); the secret is returned only here."""
        secret = generate_secret(TOKEN_PREFIX)
        now = self._clock.now()
        token = OperatorToken(
            id=new_id("optok"),
            operator_id=operator_id,
            name=name,
            token_hash=self._hash(secret),
            created_at=now,
            expires_at=None if expires_in is None else now + timedelta(seconds=expires_in),
            revoked_at=None,
        )
        session.add(token)
        await session.flush()
        return token, secret

    async def token_context(self, session: AsyncSession, bearer: str) -> OperatorContext:
        if not bearer.startswith(TOKEN_PREFIX):
            raise AuthenticationFailed(
                "The admin API takes an operator's session or operator token, never a tenant's credentials.",
                code="invalid_operator_token",
            )
        found = await repository.token_with_operator(session, self._hash(bearer))
        now = self._clock.now()
        if (
            found is None
            or found[0].revoked_at is not None
            or (found[0].expires_at is not None and now >= found[0].expires_at)
            or found[1].status != "active"
        ):
            raise AuthenticationFailed("Invalid, expired or revoked operator token.", code="invalid_operator_token")
        token, operator = found
        return OperatorContext(operator.id, operator.email, _role(operator.role), token_id=token.id)

    async def tokens(self, session: AsyncSession, operator_id: str) -> Sequence[OperatorToken]:
        return await repository.tokens_of(session, operator_id)

    async def revoke_token(self, session: AsyncSession, caller: OperatorContext, token_id: str) -> OperatorToken:
        """An operator revokes its own tokens; an admin anybody's."""
        token = await repository.get_token(session, token_id)
        if token is None or (token.operator_id != caller.operator_id and not caller.has("admin")):
            raise NotFound.resource("operator token", token_id)
        if token.revoked_at is None:
            token.revoked_at = self._clock.now()
            await session.flush()
        return token

    # --- rendering ------------------------------------------------------------------------------------

    @staticmethod
    def render(operator: Operator) -> schemas.Operator:
        return {
            "id": operator.id,
            "object": "operator",
            "email": operator.email,
            "role": _role(operator.role),
            "status": "disabled" if operator.status == "disabled" else "active",
            "passwordSet": operator.password_hash is not None,
            "totpEnrolled": operator.totp_confirmed_at is not None,
            "createdAt": isoformat(operator.created_at),
            "updatedAt": isoformat(operator.updated_at),
        }

    @staticmethod
    def render_token(token: OperatorToken, now: datetime) -> schemas.OperatorToken:
        expired = token.expires_at is not None and now >= token.expires_at
        return {
            "id": token.id,
            "object": "operatorToken",
            "name": token.name,
            "operatorId": token.operator_id,
            "status": "revoked" if token.revoked_at else "expired" if expired else "active",
            "createdAt": isoformat(token.created_at),
            "expiresAt": isoformat(token.expires_at) if token.expires_at else None,
            "revokedAt": isoformat(token.revoked_at) if token.revoked_at else None,
        }

    def now(self) -> datetime:
        return self._clock.now()


def _role(value: str) -> OperatorRole:
    for role in ROLES:
        if role == value:
            return role
    raise ValueError(f"unknown operator role {value!r}")  # the database's CHECK allows only ROLES
