"""tradeday's command line: argument parsing and printing only."""
