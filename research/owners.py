"""Who a job belongs to: the signed-in person (OpenID Connect issuer and subject), or the local user.

A deployment without sign-in has one user, :data:`LOCAL`: the command line's jobs and the app's on
127.0.0.1. With sign-in (Streamlit's ``st.login``), each person is their provider's issuer and subject
(the stable id; the e-mail address only names them and matches ``RESEARCH_ADMINS``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

LOCAL_ID = "local"
"""The owner id of every job when nobody signs in (and of the command line's jobs)."""


class Owner(BaseModel):
    """A person jobs belong to."""

    model_config = ConfigDict(frozen=True)

    id: str
    """``"<issuer> <subject>"`` for a signed-in person, :data:`LOCAL_ID` for the local user."""
    email: str | None = None
    """Their e-mail address as the provider says it, if it does (for ``RESEARCH_ADMINS`` and display only)."""
    name: str | None = None
    """How the page greets them, if the provider says."""

    @classmethod
    def signed_in(cls, issuer: str, subject: str, email: str | None = None, name: str | None = None) -> Owner:
        """A person signed in with an OpenID Connect provider."""
        return cls(id=f"{issuer} {subject}", email=email or None, name=name or None)

    @property
    def label(self) -> str | None:
        """How others see them named beside their reports: their name, else their e-mail address (None: neither)."""
        return self.name or self.email

    @property
    def subject(self) -> str:
        """The provider's subject (the id's last part; the local user's is "local")."""
        return self.id.rsplit(" ", 1)[-1]

    @property
    def is_local(self) -> bool:
        """True for the single user of a deployment without sign-in."""
        return self.id == LOCAL_ID

    def is_one_of(self, names: frozenset[str]) -> bool:
        """True when ``names`` (e-mail addresses or subjects, as ``RESEARCH_ADMINS`` lists them) names this
        person; e-mail addresses match in any case."""
        folded = {name.casefold() for name in names}
        return (self.email is not None and self.email.casefold() in folded) or self.subject in names


LOCAL = Owner(id=LOCAL_ID)
"""The local user: every job's owner when nobody signs in."""


class Access(BaseModel):
    """Who asks, and what they may do with jobs: their own, everyone's to read (a shared history), or
    everyone's to delete (an admin). The job service and the store check it on every call that names a job."""

    model_config = ConfigDict(frozen=True)

    owner: Owner = LOCAL
    shared: bool = False
    """``RESEARCH_SHARED_HISTORY``: everyone's reports are listed and open, read-only."""
    admin: bool = False
    """Named in ``RESEARCH_ADMINS``: sees every report and may delete any."""

    @classmethod
    def of(cls, owner: Owner, *, shared: bool = False, admins: frozenset[str] = frozenset()) -> Access:
        """What ``owner`` may do in a deployment with these settings."""
        return cls(owner=owner, shared=shared, admin=not owner.is_local and owner.is_one_of(admins))

    @property
    def sees_everyone(self) -> bool:
        """True when every person's jobs are listed (shared history, or an admin)."""
        return self.shared or self.admin

    def owns(self, job_owner: str | None) -> bool:
        """True for this person's own job (``job_owner`` None: a job of an older release, the local user's)."""
        return (job_owner or LOCAL_ID) == self.owner.id

    def may_see(self, job_owner: str | None) -> bool:
        """Open, list and download: one's own jobs, or everyone's in a shared history or for an admin."""
        return self.owns(job_owner) or self.sees_everyone

    def may_change(self, job_owner: str | None) -> bool:
        """Cancel, run again, retry, watch: one's own jobs only (a shared history is read-only)."""
        return self.owns(job_owner)

    def may_delete(self, job_owner: str | None) -> bool:
        """Delete: one's own jobs, or any for an admin."""
        return self.owns(job_owner) or self.admin


LOCAL_ACCESS = Access()
"""The local user's access: every job of a deployment without sign-in (and the command line's)."""
