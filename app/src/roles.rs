//! The fixed roles and what each may do, as the command and query checks apply them
//! (`Role::may_book`, `Role::may_approve`, and the role lists of the routes).

use reserver_domain::Role;

/// One role: its name, a sentence, and its permissions (stable snake_case names).
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoleInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: Vec<&'static str>,
}

/// Every role, most powerful first.
pub fn all() -> Vec<RoleInfo> {
    [
        (
            Role::Admin,
            "admin",
            "Manages resources, groups, accounts, webhooks and integrations; may act on anyone's reservations.",
        ),
        (Role::Approver, "approver", "Answers approval requests (never their own); books like a user."),
        (Role::Auditor, "auditor", "Reads the audit trail, the event log and every reservation; may not book."),
        (Role::User, "user", "Books, joins waitlists and manages their own reservations."),
        (Role::Guest, "guest", "Reads resources and availability; may not book."),
    ]
    .into_iter()
    .map(|(role, name, description)| RoleInfo { name, description, permissions: permissions(role) })
    .collect()
}

fn permissions(role: Role) -> Vec<&'static str> {
    let mut may = vec!["resources:read", "availability:read"];
    if role.may_book() {
        may.extend(["reservations:write", "waitlist:join"]);
    }
    if role.may_approve() {
        may.push("approvals:answer");
    }
    if matches!(role, Role::Admin | Role::Approver | Role::Auditor) {
        may.push("reservations:read_all");
    }
    if matches!(role, Role::Admin | Role::Auditor) {
        may.extend(["audit:read", "events:read"]);
    }
    if role == Role::Admin {
        may.extend(["resources:manage", "accounts:manage", "webhooks:manage", "oauth_clients:manage"]);
    }
    may
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_follow_the_role_checks() {
        let roles = all();
        let of = |name: &str| roles.iter().find(|r| r.name == name).map(|r| r.permissions.clone()).unwrap_or_default();
        assert!(of("user").contains(&"reservations:write") && !of("user").contains(&"approvals:answer"));
        assert!(!of("guest").contains(&"reservations:write") && !of("auditor").contains(&"reservations:write"));
        assert!(of("approver").contains(&"approvals:answer") && of("auditor").contains(&"audit:read"));
        assert!(of("admin").contains(&"accounts:manage") && !of("approver").contains(&"accounts:manage"));
        assert_eq!(roles.len(), 5);
    }
}
