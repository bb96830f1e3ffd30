"""``/api/v1/users/{id}/factors`` and ``/authenticator-enrollments``: a person's MFA, listed, enrolled, reset.

Follows Okta's Factors API (listFactors, enrollFactor, getFactor, unenrollFactor, activateFactor) and the
Identity Engine's User Authenticator Enrollments API (listAuthenticatorEnrollments, getAuthenticatorEnrollment,
deleteAuthenticatorEnrollment). A factor enrolled through the API waits for activation (PENDING_ACTIVATION)
unless it is a security question or ``activate=true`` is sent; every change is written to the System Log.
"""

from __future__ import annotations

import random
import re
from typing import Any

from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, audit, body, user_id, user_target
from okta_magic.sandbox.data import iso
from okta_magic.sandbox.factors import FACTOR_TYPES, enrollments, factor_json, factor_object
from okta_magic.sandbox.responses import ApiProblem, invalid, json_response, not_found
from okta_magic.sandbox.security import Security

# Factor types Okta offers per provider in the sandbox's factor catalog.
ENROLLABLE = {kind: provider for kind, (_, provider, _) in FACTOR_TYPES.items()}


def security(call: Call) -> Security:
    """The org's security data (every sandbox seeds it)."""
    found = call.org.security
    assert found is not None, "the sandbox seeds its security data at start"
    return found


def _factors(call: Call, uid: str) -> list[dict[str, Any]]:
    return security(call).factors.of(call.directory.users[uid])


def _factor(call: Call, uid: str, factor_id: str) -> dict[str, Any]:
    """The factor a path names (E0000007 when the user has none by that id)."""
    for factor in _factors(call, uid):
        if factor["id"] == factor_id:
            return factor
    raise not_found(factor_id, "UserFactor")


def list_factors(call: Call) -> Response:
    """GET /users/{id}/factors: every factor the user has enrolled (none after a reset)."""
    uid = user_id(call, call.args[0])
    url = call.org.url
    return json_response([factor_json(url, uid, f) for f in _factors(call, uid)])


def get_factor(call: Call) -> Response:
    """GET /users/{id}/factors/{factorId}."""
    uid = user_id(call, call.args[0])
    return json_response(factor_json(call.org.url, uid, _factor(call, uid, call.args[1])))


async def enroll_factor(call: Call) -> Response:
    """POST /users/{id}/factors: enrol a factor (E0000001 for a type the catalog does not offer)."""
    uid = user_id(call, call.args[0])
    sent = await body(call)
    kind = sent.get("factorType")
    if kind not in ENROLLABLE:
        raise invalid("factorType", f"factorType: the sandbox's factor catalog offers {', '.join(ENROLLABLE)}")
    d = call.directory
    with d.lock:
        factors = _factors(call, uid)
        if any(f["factorType"] == kind and kind != "webauthn" for f in factors):
            raise ApiProblem(400, "E0000001", "Api validation failed: factorEnrollRequest",
                             ("There is an existing verified factor. A user can only have one of each factor type.",))
        rng = random.Random(f"{d.version}-{uid}-{kind}")
        factor = factor_object(rng, kind, d.users[uid], call.org.clock())
        factor["id"] = d.new_id(FACTOR_TYPES[kind][0])
        profile = sent.get("profile")
        if kind == "sms" and not (isinstance(profile, dict) and re.fullmatch(r"\+[1-9]\d{1,14}",
                                                                              str(profile.get("phoneNumber")))):
            raise invalid("phoneNumber", "phoneNumber: a number in E.164 form, such as +15550100000")
        if isinstance(profile, dict):
            factor["profile"].update({k: v for k, v in profile.items() if k != "answer"})
        active = kind == "question" or call.flag("activate", False)
        factor["status"] = "ACTIVE" if active else "PENDING_ACTIVATION"
        factors.append(factor)
        d.touch()
    event = ("user.mfa.factor.activate", "User set up MFA factor") if active else (
        "user.mfa.factor.enroll", "User enrolled MFA factor")  # pending until activated
    audit(call, *event, [user_target(call, uid), _factor_target(factor)])
    return json_response(factor_json(call.org.url, uid, factor))


def activate_factor(call: Call) -> Response:
    """POST /users/{id}/factors/{factorId}/lifecycle/activate: the pending factor becomes ACTIVE."""
    uid = user_id(call, call.args[0])
    with call.directory.lock:
        factor = _factor(call, uid, call.args[1])
        if factor["status"] != "PENDING_ACTIVATION":
            raise ApiProblem(400, "E0000001", "Api validation failed: factor", ("The factor is already active.",))
        factor["status"] = "ACTIVE"
        factor["lastUpdated"] = _now(call)
    audit(call, "user.mfa.factor.activate", "User set up MFA factor", [user_target(call, uid), _factor_target(factor)])
    return json_response(factor_json(call.org.url, uid, factor))


def delete_factor(call: Call) -> Response:
    """DELETE /users/{id}/factors/{factorId}: reset one factor (Okta answers 204)."""
    uid = user_id(call, call.args[0])
    with call.directory.lock:
        factor = _factor(call, uid, call.args[1])
        _factors(call, uid).remove(factor)
        call.directory.touch()
    audit(call, "user.mfa.factor.deactivate", "Reset factor for user", [user_target(call, uid), _factor_target(factor)])
    return Response(status_code=204)


def reset_all(call: Call, uid: str) -> None:
    """``lifecycle/reset_factors``: every factor goes (the caller writes the System Log event)."""
    with call.directory.lock:
        _factors(call, uid).clear()
        call.directory.touch()


def list_enrollments(call: Call) -> Response:
    """GET /users/{id}/authenticator-enrollments: the password and one enrollment per authenticator."""
    uid = user_id(call, call.args[0])
    return json_response(_enrollments(call, uid))


def _enrollments(call: Call, uid: str) -> list[dict[str, Any]]:
    sec = security(call)
    return enrollments(call.org.url, call.directory.users[uid], _factors(call, uid), sec.config.authenticator_ids())


def get_enrollment(call: Call) -> Response:
    """GET /users/{id}/authenticator-enrollments/{enrollmentId}."""
    uid = user_id(call, call.args[0])
    for enrollment in _enrollments(call, uid):
        if enrollment["id"] == call.args[1]:
            return json_response(enrollment)
    raise not_found(call.args[1], "AuthenticatorEnrollment")


def delete_enrollment(call: Call) -> Response:
    """DELETE /users/{id}/authenticator-enrollments/{enrollmentId}: unenrol the factors behind it (204)."""
    uid = user_id(call, call.args[0])
    wanted = call.args[1]
    if wanted.startswith("lae"):
        raise ApiProblem(403, "E0000006", "You do not have permission to perform the requested action",
                         ("The password cannot be unenrolled.",))
    with call.directory.lock:
        found = next((e for e in _enrollments(call, uid) if e["id"] == wanted), None)
        if found is None:
            raise not_found(wanted, "AuthenticatorEnrollment")
        factors = _factors(call, uid)
        gone = [f for f in factors if f["status"] == "ACTIVE" and ("eae" + f["id"][3:] == wanted
                or (found["key"] == "okta_verify" and f["factorType"] in ("push", "token:software:totp",
                                                                           "signed_nonce")))]
        for factor in gone:
            factors.remove(factor)
        call.directory.touch()
    for factor in gone:
        audit(call, "user.mfa.factor.deactivate", "Reset factor for user",
              [user_target(call, uid), _factor_target(factor)])
    return Response(status_code=204)


def _factor_target(factor: dict[str, Any]) -> dict[str, Any]:
    """A factor as a System Log target."""
    return {"id": factor["id"], "type": "Factor", "alternateId": "unknown", "displayName": factor["factorType"],
            "detailEntry": {"methodTypeUsed": factor["factorType"], "methodUsedVerifiedProperties": "[]"}}


def _now(call: Call) -> str:
    return iso(call.org.clock())
