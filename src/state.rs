//! The widget's state and the pure function that applies each action to it, tested without a
//! browser.

use consent_core::{Channel, Locale, Recipient, RecipientType};

/// Where the widget is with recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// Nothing happening.
    #[default]
    Idle,
    /// Preferences: reading the current state.
    Loading,
    /// Preferences: the current state could not be read.
    StateUnavailable,
    /// Records are on their way.
    Recording,
    /// The relay stored them.
    Recorded,
    /// Kept on the device for a later try.
    Queued,
    /// The relay refused them for good.
    Failed,
    /// Newsletter: submitted with no box ticked.
    NothingTicked,
}

impl Status {
    /// The name `state()` reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Idle => "idle",
            Status::Loading => "loading",
            Status::StateUnavailable => "state_unavailable",
            Status::Recording => "recording",
            Status::Recorded => "recorded",
            Status::Queued => "queued",
            Status::Failed => "failed",
            Status::NothingTicked => "nothing_ticked",
        }
    }
}

/// One box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelBox {
    /// The channel.
    pub channel: Channel,
    /// Whether it is ticked.
    pub ticked: bool,
    /// The code of the address problem to show under it, if any.
    pub error: Option<&'static str>,
}

/// Everything the widget shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The language shown.
    pub locale: Locale,
    /// The boxes, in the order given.
    pub boxes: Vec<ChannelBox>,
    /// Newsletter: the phone number typed.
    pub phone: String,
    /// Newsletter: the e-mail address typed.
    pub email: String,
    /// Newsletter: the name and surname typed, when the name field is shown.
    pub name: String,
    /// Where recording is.
    pub status: Status,
    /// The last records could not be kept on the device.
    pub not_persisted: bool,
    /// Preferences: boxes cannot be changed (loading).
    pub busy: bool,
    /// Individual or merchant: the option's, or the person's choice when they are offered one.
    pub recipient_type: RecipientType,
}

/// One of the newsletter's own fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The name and surname, when the field is shown.
    Name,
    /// The phone number.
    Phone,
    /// The e-mail address.
    Email,
}

/// Something that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A box was ticked (`true`) or unticked.
    Tick(Channel, bool),
    /// The language changed.
    SetLocale(Locale),
    /// Newsletter: one of the fields changed.
    Type(Field, String),
    /// The person chose individual or merchant.
    ChooseRecipientType(RecipientType),
    /// Checkout: the shop's fields changed; the phone and e-mail values now in them.
    ShopFields(Option<String>, Option<String>),
    /// Recording moved on.
    Status(Status),
    /// Whether the last records were persisted.
    Persisted(bool),
    /// Preferences: the current state arrived, as the ticked channels.
    Loaded(Vec<Channel>),
}

impl State {
    /// Every channel shown, none ticked: nothing is ever pre-ticked.
    pub fn new(channels: &[Channel], locale: Locale) -> State {
        State {
            locale,
            boxes: channels
                .iter()
                .map(|&channel| ChannelBox {
                    channel,
                    ticked: false,
                    error: None,
                })
                .collect(),
            phone: String::new(),
            email: String::new(),
            name: String::new(),
            status: Status::Idle,
            not_persisted: false,
            busy: false,
            recipient_type: RecipientType::Individual,
        }
    }

    /// Whether the box of `channel` is ticked.
    pub fn is_ticked(&self, channel: Channel) -> bool {
        self.boxes
            .iter()
            .any(|item| item.channel == channel && item.ticked)
    }

    /// The ticked channels, in order.
    pub fn ticked(&self) -> Vec<Channel> {
        self.boxes
            .iter()
            .filter(|item| item.ticked)
            .map(|item| item.channel)
            .collect()
    }

    /// The problem with `value` as the address of `channel`, shown only once something is typed.
    pub fn address_error(channel: Channel, value: &str) -> Option<&'static str> {
        if value.trim().is_empty() {
            return None;
        }
        Recipient::parse_for(channel, value)
            .err()
            .map(|error| error.code())
    }

    /// The error to show by the phone field: for the most demanding ticked phone channel, or
    /// for calls when none is ticked.
    pub fn phone_error(&self) -> Option<&'static str> {
        let channel = if self.is_ticked(Channel::Sms) {
            Channel::Sms
        } else {
            Channel::Call
        };
        State::address_error(channel, &self.phone)
    }

    /// The error to show by the e-mail field.
    pub fn email_error(&self) -> Option<&'static str> {
        State::address_error(Channel::Email, &self.email)
    }

    fn set_box_errors(&mut self, phone: Option<&str>, email: Option<&str>) {
        for item in &mut self.boxes {
            let value = if item.channel.is_phone() {
                phone
            } else {
                email
            };
            item.error = match value {
                Some(value) if item.ticked => State::address_error(item.channel, value),
                _ => None,
            };
        }
    }

    /// Applies `action`, in place: the widget keeps the one state.
    pub fn apply(&mut self, action: Action) {
        let next = self;
        match action {
            Action::Tick(channel, value) => {
                for item in &mut next.boxes {
                    if item.channel == channel {
                        item.ticked = value;
                        if !value {
                            item.error = None;
                        }
                    }
                }
                if next.status == Status::NothingTicked && value {
                    next.status = Status::Idle;
                }
            }
            Action::SetLocale(locale) => next.locale = locale,
            Action::Type(field, value) => {
                *match field {
                    Field::Name => &mut next.name,
                    Field::Phone => &mut next.phone,
                    Field::Email => &mut next.email,
                } = value;
            }
            Action::ChooseRecipientType(kind) => next.recipient_type = kind,
            Action::ShopFields(phone, email) => {
                next.set_box_errors(phone.as_deref(), email.as_deref());
            }
            Action::Status(status) => {
                next.busy = status == Status::Loading;
                next.status = status;
            }
            Action::Persisted(persisted) => next.not_persisted = !persisted,
            Action::Loaded(ticked) => {
                for item in &mut next.boxes {
                    item.ticked = ticked.contains(&item.channel);
                }
                next.busy = false;
                next.status = Status::Idle;
            }
        }
    }

    /// The state after `action`, for tests that chain actions.
    #[cfg(test)]
    fn after(mut self, action: Action) -> State {
        self.apply(action);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> State {
        State::new(&[Channel::Sms, Channel::Email], Locale::Turkish)
    }

    #[test]
    fn nothing_is_ticked_at_first() {
        let state = State::new(Channel::ALL, Locale::English);
        assert!(state.ticked().is_empty());
        assert_eq!(state.status, Status::Idle);
    }

    #[test]
    fn ticking_one_box_leaves_the_others() {
        let state = fresh().after(Action::Tick(Channel::Sms, true));
        assert_eq!(state.ticked(), [Channel::Sms]);
        let state = state.after(Action::Tick(Channel::Sms, false));
        assert!(state.ticked().is_empty());
    }

    #[test]
    fn a_channel_not_shown_cannot_be_ticked() {
        let state = fresh().after(Action::Tick(Channel::Call, true));
        assert!(state.ticked().is_empty());
    }

    #[test]
    fn field_errors_appear_once_something_is_typed_and_follow_the_ticked_channel() {
        let state = fresh();
        assert_eq!(state.phone_error(), None);
        let state = state.after(Action::Type(Field::Phone, "0212 123 00 00".into()));
        assert_eq!(state.phone_error(), None, "a landline can take calls");
        let state = state.after(Action::Tick(Channel::Sms, true));
        assert_eq!(state.phone_error(), Some("phone_not_mobile"));
        let state = state.after(Action::Type(Field::Email, "örnek@alan.com".into()));
        assert_eq!(state.email_error(), Some("email_turkish_letter"));
    }

    #[test]
    fn the_name_typed_is_kept_as_typed() {
        let state = fresh().after(Action::Type(Field::Name, " Ayşe Yılmaz".into()));
        assert_eq!(state.name, " Ayşe Yılmaz");
        assert_eq!(state.phone_error(), None);
    }

    #[test]
    fn checkout_errors_show_only_under_ticked_boxes() {
        let state = fresh().after(Action::ShopFields(Some("123".into()), Some("bad".into())));
        assert!(state.boxes.iter().all(|item| item.error.is_none()));
        let state = state
            .after(Action::Tick(Channel::Sms, true))
            .after(Action::ShopFields(Some("123".into()), Some("bad".into())));
        assert_eq!(state.boxes[0].error, Some("phone_wrong_length"));
        assert_eq!(state.boxes[1].error, None);
    }

    #[test]
    fn loaded_preferences_tick_what_was_granted() {
        let state = fresh()
            .after(Action::Status(Status::Loading))
            .after(Action::Loaded(vec![Channel::Email]));
        assert_eq!(state.ticked(), [Channel::Email]);
        assert!(!state.busy);
    }
}
