//! The shopper of the request's session, read with the session by the session store's `load`
//! and handed to the request's first read of that shopper ([`Store::find_user`]), so that a
//! signed-in page reads its session and its shopper in one statement.
//!
//! The row is handed over once (taken, not copied): a second read of the shopper in the same
//! request goes to the database. Any write the request starts drops it first, so a read that
//! follows a write never sees the row as it was before. Outside a request (background tasks)
//! nothing is held, and every read goes to the database.
//!
//! [`Store::find_user`]: super::Store::find_user

use std::cell::RefCell;
use std::future::Future;

use uuid::Uuid;

use crate::accounts::user::User;

tokio::task_local! {
    /// The session's shopper id and the account row read with the session (`None`: no such
    /// account).
    static SESSION_USER: RefCell<Option<(Uuid, Option<User>)>>;
}

/// Runs `request` with a slot for its session's shopper (see the module's documentation).
pub async fn keeping_session_user<F: Future>(request: F) -> F::Output {
    SESSION_USER.scope(RefCell::new(None), request).await
}

/// Leaves the account `user` read for the shopper `id` for the request's first read of it.
pub(super) fn leave(id: Uuid, user: Option<User>) {
    if user.as_ref().is_some_and(|u| u.id != id) {
        return;
    }
    let _ = SESSION_USER.try_with(|slot| *slot.borrow_mut() = Some((id, user)));
}

/// The account row left for the shopper `id`, taken out of the slot; `None` when no row for
/// that shopper is held (then read it from the database).
pub(super) fn take(id: Uuid) -> Option<Option<User>> {
    SESSION_USER
        .try_with(|slot| {
            let mut slot = slot.borrow_mut();
            match slot.as_ref() {
                Some((held, _)) if *held == id => slot.take().map(|(_, user)| user),
                _ => None,
            }
        })
        .ok()
        .flatten()
}

/// Drops the held row: the request is about to write.
pub(super) fn forget() {
    let _ = SESSION_USER.try_with(|slot| slot.borrow_mut().take());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: Uuid) -> User {
        User {
            id,
            email: "a@example.com".into(),
            display_name: "A".into(),
            created_at: 0,
            frozen: None,
            session_epoch: 0,
        }
    }

    #[tokio::test]
    async fn the_row_is_taken_once_and_only_for_its_shopper() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        keeping_session_user(async {
            leave(a, Some(user(a)));
            assert!(
                take(b).is_none(),
                "another shopper's read goes to the database"
            );
            assert_eq!(take(a).flatten().map(|u| u.id), Some(a));
            assert!(take(a).is_none(), "a second read goes to the database");
            leave(a, None);
            assert!(matches!(take(a), Some(None)), "no such account");
            leave(a, Some(user(a)));
            forget();
            assert!(take(a).is_none(), "a write drops the row");
            leave(a, Some(user(b)));
            assert!(take(a).is_none(), "a row of another shopper is never held");
        })
        .await;
    }

    #[tokio::test]
    async fn outside_a_request_nothing_is_held() {
        let a = Uuid::new_v4();
        leave(a, Some(user(a)));
        assert!(take(a).is_none());
    }
}
