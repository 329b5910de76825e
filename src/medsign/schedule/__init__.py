"""What the MIS publishes for booking (doctors, services, free slots) and booking a
slot from the patient cabinet."""
