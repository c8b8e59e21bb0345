"""The onboarding screen: questions, their order, and turning answers into a programme."""
