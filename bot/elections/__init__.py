"""Elections and polls: counting the ballots, settling ties by lot, and voters' receipts."""
