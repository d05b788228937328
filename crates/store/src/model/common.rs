//! Pagination, shared by every listing.

/// Which slice of a listing to return. Offset pagination: the moderation inbox is
/// filtered by state and small; see decision 0010 for why not keyset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    offset: u64,
    limit: u32,
}

impl Page {
    /// The largest page the store returns.
    pub const MAX_LIMIT: u32 = 500;

    /// Items `offset..offset+limit`; `limit` is clamped to `1..=MAX_LIMIT`.
    pub fn new(offset: u64, limit: u32) -> Self {
        Self { offset, limit: limit.clamp(1, Self::MAX_LIMIT) }
    }

    /// The first `limit` items.
    pub fn first(limit: u32) -> Self {
        Self::new(0, limit)
    }

    /// How many items to skip.
    pub fn offset(self) -> u64 {
        self.offset
    }

    /// How many items at most.
    pub fn limit(self) -> u32 {
        self.limit
    }

    /// `offset` as a bind value (saturating: no database holds 2^63 rows).
    pub(crate) fn offset_i64(self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }

    /// One more than `limit`, to learn whether another page follows.
    pub(crate) fn probe_limit(self) -> i64 {
        i64::from(self.limit) + 1
    }

    /// Cuts the probe row off `items` and says where the next page starts.
    pub(crate) fn finish<T>(self, mut items: Vec<T>) -> PageOf<T> {
        let more = items.len() > self.limit as usize;
        items.truncate(self.limit as usize);
        let next_offset = more.then(|| self.offset + u64::from(self.limit));
        PageOf { items, next_offset }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::first(50)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageOf<T> {
    /// The items of this page, in the listing's order.
    pub items: Vec<T>,
    /// The offset of the next page, or `None` when this is the last.
    pub next_offset: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limit_is_clamped() {
        assert_eq!(Page::new(0, 0).limit(), 1);
        assert_eq!(Page::new(0, 10_000).limit(), Page::MAX_LIMIT);
    }

    #[test]
    fn finish_reports_a_next_page_only_when_the_probe_row_came_back() {
        let page = Page::new(10, 2);
        assert_eq!(page.finish(vec![1, 2, 3]), PageOf { items: vec![1, 2], next_offset: Some(12) });
        assert_eq!(page.finish(vec![1, 2]), PageOf { items: vec![1, 2], next_offset: None });
    }
}
