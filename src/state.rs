//! The widget's state as a pure reducer, tested without a browser.

use std::rc::Rc;

use consent_core::Channel;
use yew::Reducible;

/// What the person has ticked, per channel shown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    ticked: Vec<(Channel, bool)>,
}

/// Something the person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A box was ticked (`true`) or unticked.
    Set(Channel, bool),
}

impl State {
    /// Every channel shown, none ticked: nothing is ever pre-ticked.
    pub fn new(channels: &[Channel]) -> State {
        State {
            ticked: channels.iter().map(|&channel| (channel, false)).collect(),
        }
    }

    /// Whether the box of `channel` is ticked.
    pub fn is_ticked(&self, channel: Channel) -> bool {
        self.ticked
            .iter()
            .any(|&(shown, ticked)| shown == channel && ticked)
    }

    /// The channels shown, in order, with their boxes.
    pub fn channels(&self) -> &[(Channel, bool)] {
        &self.ticked
    }

    /// The state after `action`.
    pub fn apply(&self, action: Action) -> State {
        match action {
            Action::Set(channel, value) => State {
                ticked: self
                    .ticked
                    .iter()
                    .map(|&(shown, ticked)| (shown, if shown == channel { value } else { ticked }))
                    .collect(),
            },
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(self.apply(action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_ticked_at_first() {
        let state = State::new(Channel::ALL);
        assert!(
            Channel::ALL
                .iter()
                .all(|&channel| !state.is_ticked(channel))
        );
    }

    #[test]
    fn ticking_one_box_leaves_the_others() {
        let state =
            State::new(&[Channel::Email, Channel::Sms]).apply(Action::Set(Channel::Sms, true));
        assert!(state.is_ticked(Channel::Sms));
        assert!(!state.is_ticked(Channel::Email));
        let state = state.apply(Action::Set(Channel::Sms, false));
        assert!(!state.is_ticked(Channel::Sms));
    }

    #[test]
    fn a_channel_not_shown_cannot_be_ticked() {
        let state = State::new(&[Channel::Email]).apply(Action::Set(Channel::Call, true));
        assert!(!state.is_ticked(Channel::Call));
        assert_eq!(state.channels(), &[(Channel::Email, false)]);
    }
}
