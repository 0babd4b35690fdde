"""The agents that play the game on a real chain: requester, submitter (`serve`), challenger (`watch`)."""
