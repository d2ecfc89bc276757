"""Notes API: the sample backend that the MaestrOps application pipeline builds and deploys."""
