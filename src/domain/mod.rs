//! Pure logic with no I/O: tax ids, money, people, the campaign spec and schedule.

pub mod campaign;
pub mod invoice;
pub mod money;
pub mod people;
pub mod schedule;
pub mod taxid;
